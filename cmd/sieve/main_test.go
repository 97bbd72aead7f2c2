package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// latency differs run to run; the golden file holds it as 0.
var latency = regexp.MustCompile(`"latency_ms":[0-9.]+`)

func TestClassifyGolden(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"classify", "--in", "testdata/messages.jsonl"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := latency.ReplaceAll(out.Bytes(), []byte(`"latency_ms":0`))
	golden := filepath.Join("testdata", "verdicts.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("classify output differs from %s (run with -update to accept):\n%s", golden, got)
	}
	// One output line per non-blank input line, in input order.
	if n := strings.Count(string(got), "\n"); n != 8 {
		t.Fatalf("%d lines, want 8", n)
	}
}

func TestExitCodes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("delivery: sometimes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noBrokers := filepath.Join(t.TempDir(), "nobrokers.yaml")
	if err := os.WriteFile(noBrokers, []byte("classifiers: [{type: rules}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"version"}, 0, ""},
		{[]string{"nonsense"}, 2, "unknown command"},
		{[]string{"run"}, 2, "-c sieve.yaml is required"},
		{[]string{"run", "-c", bad}, 2, bad + ": delivery"},
		{[]string{"run", "-c", noBrokers}, 2, noBrokers + ": kafka.brokers"},
		{[]string{"classify", "--in", "/does/not/exist"}, 2, "--in"},
		{[]string{"bench", "--classifier", "gpt"}, 2, "--classifier"},
		{[]string{"classify", "--bogus"}, 2, "bogus"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		if code := Main(tt.args, &out, &errb); code != tt.code || !strings.Contains(errb.String(), tt.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", tt.args, code, tt.code, errb.String(), tt.msg)
		}
	}
}

func TestBenchJSONLastLine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an end-to-end benchmark; skipped with -short")
	}
	var out, errb bytes.Buffer
	code := Main([]string{"bench", "--messages", "5000", "--classifier", "rules", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	for _, k := range []string{`"messages":5000`, `"msgs_per_sec":`, `"p50_ms":`, `"p99_ms":`, `"lost":0`, `"duplicates":`} {
		if !strings.Contains(last, k) {
			t.Errorf("last line %q lacks %s", last, k)
		}
	}
}

// make run's promise: live numbers within seconds, and a clean stop.
func TestDemoShowsLiveNumbers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for four seconds; skipped with -short")
	}
	var out, errb bytes.Buffer
	code := Main([]string{"demo", "--duration", "4s", "--rate", "1000"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	if !strings.Contains(s, "msg/s") || !strings.Contains(s, "stopped cleanly") {
		t.Fatalf("no live line or clean stop in:\n%s", s)
	}
	lines := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "msg/s") && strings.Contains(l, "flags") {
			lines++
		}
	}
	if lines < 2 {
		t.Fatalf("%d live lines in 4 s:\n%s", lines, s)
	}
}

// TestBenchComparisonRounds: --pairs N runs a comparison's runs N times
// over and reports each round's figures with their medians: the cost of
// tracing in rate and in CPU, and the mapped and Avro runs' shares of the
// envelope's rate. A run that loses a message fails the command, so exit
// 0 says that none did.
func TestBenchComparisonRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs end-to-end benchmarks; skipped with -short")
	}
	type result struct {
		Lost        int       `json:"lost"`
		CPU         float64   `json:"cpu_us_per_msg"`
		UntracedCPU float64   `json:"untraced_cpu_us_per_msg"`
		Costs       []float64 `json:"tracing_costs"`
		CPUShares   []float64 `json:"tracing_cpu_shares"`
		Mapped      []float64 `json:"mapped_to_envelope_each"`
		Avro        []float64 `json:"avro_to_envelope_each"`
		MappedMed   float64   `json:"mapped_to_envelope_median"`
	}
	tests := []struct {
		flag  string
		check func(r result) bool
	}{
		{"--compare-tracing", func(r result) bool {
			return len(r.Costs) == 2 && len(r.CPUShares) == 2 && r.CPU > 0 && r.UntracedCPU > 0
		}},
		{"--compare-mapping", func(r result) bool {
			return len(r.Mapped) == 2 && len(r.Avro) == 2 && r.MappedMed >= min(r.Mapped[0], r.Mapped[1]) && r.MappedMed <= max(r.Mapped[0], r.Mapped[1])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main([]string{"bench", tt.flag, "--pairs", "2", "--messages", "3000", "--classifier", "rules", "--copy=false", "--json"}, &out, &errb)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			var r result
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
				t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
			}
			if r.Lost != 0 || !tt.check(r) {
				t.Fatalf("got %+v, want two rounds' figures and their median, none lost", r)
			}
		})
	}
}

// An open-loop run produces at the asked rate while the pipeline consumes,
// and reports the tail and the rate it achieved. (The broker stays in this
// process: a child would be the test binary.)
func TestBenchOpenLoopJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an end-to-end benchmark; skipped with -short")
	}
	var out, errb bytes.Buffer
	code := Main([]string{"bench", "--rate", "2000", "--duration", "1s", "--classifier", "rules", "--broker-process=false", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var res struct {
		Messages int     `json:"messages"`
		P999     float64 `json:"p999_ms"`
		Target   float64 `json:"target_rate"`
		Achieved float64 `json:"achieved_rate"`
		Lost     int     `json:"lost"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	if res.Messages != 2000 || res.Target != 2000 || res.Lost != 0 {
		t.Fatalf("got %+v, want 2000 messages at 2000/s, none lost", res)
	}
	// The schedule bounds the rate from above whatever the machine: more
	// than asked would mean the producer ran ahead of its schedule.
	if res.Achieved <= 0 || res.Achieved > 2200 {
		t.Errorf("achieved %.0f msgs/s, asked 2000", res.Achieved)
	}
	if res.P999 <= 0 {
		t.Errorf("p99.9 %.2f ms: no latency measured", res.P999)
	}
}
