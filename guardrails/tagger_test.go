package guardrails

import (
	"bufio"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sieve-stream/sieve/tagger"
)

var markRe = regexp.MustCompile(`\[([^\]]+)\]\(([A-Z_]+)\)`)

// readHandwritten reads tagger/testdata/handwritten.txt: one sentence a
// line, entities marked [text](LABEL).
func readHandwritten(t testing.TB) []SpanExample {
	f, err := os.Open("../tagger/testdata/handwritten.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []SpanExample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var ex SpanExample
		var b strings.Builder
		last := 0
		for _, m := range markRe.FindAllStringSubmatchIndex(line, -1) {
			b.WriteString(line[last:m[0]])
			start := utf8.RuneCountInString(b.String())
			b.WriteString(line[m[2]:m[3]])
			label, _ := tagger.LabelOf(line[m[4]:m[5]])
			ex.Spans = append(ex.Spans, struct {
				Start int    `json:"start"`
				End   int    `json:"end"`
				Label string `json:"label"`
			}{start, utf8.RuneCountInString(b.String()), label})
			last = m[1]
		}
		b.WriteString(line[last:])
		ex.Text = b.String()
		out = append(out, ex)
	}
	return out
}

// TestTaggerHandwritten scores the pii scanner with every entity type on
// 100 hand-written sentences (names of many origins, names that are
// common words, lowercase names in chat, addresses in several countries'
// formats), which no training ever reads. The floors guard against
// regressions; the figures are reported in docs/guardrails.md.
func TestTaggerHandwritten(t *testing.T) {
	data := readHandwritten(t)
	if len(data) < 100 {
		t.Fatalf("%d sentences; the acceptance asks for at least 100", len(data))
	}
	m, err := tagger.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rep := EvaluateSpans(data, PII{Tagger: m, Entities: m.Labels, JoinAddresses: true})
	labels := make([]string, 0, len(rep.Labels))
	for l := range rep.Labels {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		r := rep.Labels[l]
		t.Logf("%-15s P %.3f R %.3f F1 %.3f (%d)", l, r.Precision, r.Recall, r.F1, r.Support)
	}
	floors := map[string]float64{"person": 0.5}
	for l, f := range floors {
		if rep.Labels[l].F1 < f {
			t.Errorf("%s F1 %.3f on the hand-written sentences, under its floor %.2f", l, rep.Labels[l].F1, f)
		}
	}
}
