// Package guardrails holds the rail engine: scanners that find spans (PII,
// secrets, injection markers…) in text, each registered under the name a
// rails policy gives it, and the policy of input and output rails that the
// pipeline's guardrails stage and the chat proxy share.
package guardrails

import (
	"sort"
	"unicode/utf8"

	"github.com/sieve-stream/sieve/internal/registry"
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

// ScannerType is one scanner a rails policy can name (`scanner: pii`).
// Each registers itself (RegisterScanner in an init, beside its code), so
// that adding a scanner is one file; policy validation, its "is not one
// of" error and the generated docs read this registry.
type ScannerType struct {
	Name string
	// Summary is one line for the docs.
	Summary string
	// Params are the check's fields the scanner reads, beyond scanner,
	// action and labels.
	Params []string
	// New builds the scanner for a check. An error names the field, its
	// path relative to the check first ("allow: ...").
	New func(c *Check) (Scanner, error)
}

var scannerTypes = registry.New[ScannerType]("rail scanner")

// RegisterScanner adds a scanner type; it panics on a second of the same
// name. Call it from an init.
func RegisterScanner(t ScannerType) { scannerTypes.Register(t.Name, t) }

// ScannerTypes lists the registered scanners by name.
func ScannerTypes() []ScannerType { return scannerTypes.All() }

// plain registers a scanner that takes no parameters.
func plain(name, summary string, s Scanner) {
	RegisterScanner(ScannerType{Name: name, Summary: summary, New: func(*Check) (Scanner, error) { return s, nil }})
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
