// Package guardrails holds the rail engine's parts: scanners that find
// spans (PII, secrets, injection markers…) in text, and, to come, the
// policy of input and output rails that the pipeline's rewrite stage and
// the chat proxy share.
package guardrails

import (
	"sort"
	"unicode/utf8"
)

// Span is something a scanner found: byte offsets into the text (End
// exclusive), a label, and a score in [0, 1].
type Span struct {
	Start, End int
	Label      string
	Score      float64
}

// Scanner finds spans in a text. Scan must be safe for concurrent use and
// return spans ordered by Start.
type Scanner interface {
	Name() string
	Labels() []string
	Scan(text string) []Span
}

// ScanAll runs scanners and merges their spans: where two overlap, the
// longer wins (a card number is not also a phone number).
func ScanAll(text string, scanners ...Scanner) []Span {
	var all []Span
	for _, s := range scanners {
		all = append(all, s.Scan(text)...)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Start != all[j].Start {
			return all[i].Start < all[j].Start
		}
		return all[i].End-all[i].Start > all[j].End-all[j].Start
	})
	var out []Span
	for _, s := range all {
		if n := len(out); n > 0 && s.Start < out[n-1].End {
			if s.End-s.Start > out[n-1].End-out[n-1].Start {
				out[n-1] = s
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// Mask replaces each span with a typed placeholder such as <EMAIL_ADDRESS>.
func Mask(text string, spans []Span) string {
	var b []byte
	last := 0
	for _, s := range spans {
		if s.Start < last {
			continue
		}
		b = append(b, text[last:s.Start]...)
		b = append(b, '<')
		for _, c := range s.Label {
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			b = utf8.AppendRune(b, c)
		}
		b = append(b, '>')
		last = s.End
	}
	return string(append(b, text[last:]...))
}

// RuneOffsets converts a span's byte offsets to code-point offsets, as
// labelled span files count them.
func RuneOffsets(text string, s Span) (int, int) {
	return utf8.RuneCountInString(text[:s.Start]), utf8.RuneCountInString(text[:s.End])
}
