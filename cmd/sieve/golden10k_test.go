package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/internal/datasetstest"

	"github.com/sieve-stream/sieve/traffic"
)

// authorAge is wall-clock time since an author's first post; like latency it
// differs run to run, and the golden digests hold it as 0.
var authorAge = regexp.MustCompile(`"author_age_s":[0-9.]+`)

// The default config's verdicts on 10,000 real posts (campaign bursts and
// authors included, so that campaign and author signals are exercised) must
// not change when the hot path is made faster. The golden file holds one
// SHA-256 per 100 verdict lines, so that a change names the lines it
// touched without committing 17 MB of verdicts; a failing run writes its
// verdicts beside the test's temp folder for a diff.
func TestDefaultVerdictsGolden10k(t *testing.T) {
	if testing.Short() {
		t.Skip("classifies 10,000 posts; skipped with -short")
	}
	data := datasetstest.Dir(t, "moderation/train.jsonl")
	corpus := loadCorpus(data)
	if corpus == nil {
		t.Fatalf("no corpus under %s", data)
	}
	// Campaigns far more often than the demo's mix, so that clusters of
	// every size occur in 10k posts.
	mix := traffic.DefaultPostMix
	mix.Campaign = 0.005
	posts := traffic.NewPosts(11, *corpus, mix)
	ts := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var in bytes.Buffer
	for range 10_000 {
		m := posts.Next(ts)
		in.Write(m.Value)
		in.WriteByte('\n')
	}
	dir := t.TempDir()
	inPath := filepath.Join(dir, "posts.jsonl")
	if err := os.WriteFile(inPath, in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// One worker: which duplicate is scored and which is served from the
	// verdict cache ("cached") depends on how concurrent batches interleave.
	cfg := filepath.Join(dir, "sieve.yaml")
	if err := os.WriteFile(cfg, []byte("pipeline:\n  workers: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"classify", "-c", cfg, "--in", inPath}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := latency.ReplaceAll(out.Bytes(), []byte(`"latency_ms":0`))
	got = authorAge.ReplaceAll(got, []byte(`"author_age_s":0`))
	got = bytes.ReplaceAll(got, []byte(inPath), []byte("posts.jsonl"))
	if n := bytes.Count(got, []byte("\n")); n != 10_000 {
		t.Fatalf("%d verdict lines, want 10000", n)
	}
	digests := blockDigests(got, 100)
	golden := filepath.Join("testdata", "verdicts10k.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(strings.Join(digests, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := readLines(golden)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != len(digests) {
		t.Fatalf("%s has %d blocks, the run %d", golden, len(want), len(digests))
	}
	var differ []string
	for i := range want {
		if want[i] != digests[i] {
			differ = append(differ, fmt.Sprintf("%d-%d", i*100+1, i*100+100))
		}
	}
	if len(differ) > 0 {
		keep := filepath.Join(os.TempDir(), "sieve-verdicts10k.jsonl")
		_ = os.WriteFile(keep, got, 0o644)
		t.Fatalf("verdict lines %s differ from %s (this run's verdicts: %s; -update accepts them)", strings.Join(differ, ", "), golden, keep)
	}
}

func blockDigests(b []byte, lines int) []string {
	var out []string
	for len(b) > 0 {
		end, n := 0, 0
		for n < lines && end < len(b) {
			i := bytes.IndexByte(b[end:], '\n')
			if i < 0 {
				end = len(b)
				break
			}
			end += i + 1
			n++
		}
		sum := sha256.Sum256(b[:end])
		out = append(out, hex.EncodeToString(sum[:12]))
		b = b[end:]
	}
	return out
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out, sc.Err()
}
