package proxy

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/guardrails"
)

func TestSegments(t *testing.T) {
	texts := func(text string, segs []segment) []string {
		var out []string
		for _, s := range segs {
			out = append(out, text[s.start:s.end])
		}
		return out
	}
	tests := []struct {
		text  string
		final bool
		want  []string
	}{
		{"a b c d e f g", true, []string{"a b c", "c d e f", "f g"}},
		{"a b c d e f g", false, []string{"a b c", "c d e f"}},
		{"a b c d e f ", false, []string{"a b c", "c d e f"}},
		{"a b c d e f", false, []string{"a b c"}}, // "f" may go on
		{"  a\tb\nc  ", true, []string{"a\tb\nc"}},
		{"a b", false, nil},
		{"", true, nil},
	}
	for _, tt := range tests {
		if got := texts(tt.text, segments(tt.text, 3, 1, tt.final)); !slices.Equal(got, tt.want) {
			t.Errorf("segments(%q, final %v) = %q, want %q", tt.text, tt.final, got, tt.want)
		}
	}
}

// Whatever prefix of a text has arrived, the segments complete in it are
// the first segments of the whole text: a stream read as it arrives reads
// what the JSON reply is read as.
func TestSegmentsOfPrefixesAreTheWholes(t *testing.T) {
	words := strings.Fields("the museum opens at nine and the guided tours start every hour from the main hall; " +
		"tickets can be bought online or at the desk https://example.org/tickets?day=mon and children go in free")
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var b strings.Builder
		for i, w := range words {
			if i > 0 {
				b.WriteString([]string{" ", "  ", "\n", "\t"}[r.IntN(4)])
			}
			b.WriteString(w)
		}
		text := b.String()
		whole := segments(text, segmentWords, 5, true)
		for cut := 0; cut <= len(text); cut++ {
			part := segments(text[:cut], segmentWords, 5, cut == len(text))
			if len(part) > len(whole) || !slices.Equal(part, whole[:len(part)]) {
				t.Fatalf("prefix %q: segments %v are not the first of the whole's %v", text[:cut], part, whole)
			}
		}
	}
}

// BenchmarkReadWhole is what the output rails cost on a long JSON reply
// read in segments and whole, against the whole alone: the price of the
// same decision streamed or not.
func BenchmarkReadWhole(b *testing.B) {
	p, err := guardrails.ParsePolicy([]byte("rails:\n  output:\n    - {scanner: classifier, model: moderation, action: flag}\n"))
	if err != nil {
		b.Fatal(err)
	}
	rails := guardrails.NewEngine(p)
	s := &Server{cfg: Config{Context: 200}}
	// Ordinary prose, and a rail that only flags: every segment is read.
	b2, err := os.ReadFile("../models/testdata/long_benign.txt")
	if err != nil {
		b.Fatal(err)
	}
	prose := strings.Fields(string(b2))
	words := make([]string, 1000)
	for i := range words {
		words[i] = prose[i%len(prose)]
	}
	text := strings.Join(words, " ")
	if res, refused := s.readWhole(text, func(t string) guardrails.Result { return rails.Output(t, "", "chat") }); refused {
		b.Fatalf("the benign reply was refused: %+v", res)
	}
	rail := func(t string) guardrails.Result { return rails.Output(t, "", "chat") }
	for _, bc := range []struct {
		name string
		read func()
	}{
		{"segments", func() { s.readWhole(text, rail) }},
		{"whole", func() { rail(text) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				bc.read()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/reply")
		})
	}
}
