package guardrails

import (
	"strconv"
	"strings"
)

// Vault remembers what reversible masking replaced, so that a reply that
// quotes a placeholder can be restored for the user (the chat proxy masks
// PII before the upstream model sees it and restores it in the answer).
type Vault struct {
	values map[string]string // placeholder -> original
	seen   map[string]string // original+label -> placeholder, so a value keeps its placeholder
	n      map[string]int    // per label
}

// NewVault returns an empty vault.
func NewVault() *Vault {
	return &Vault{values: map[string]string{}, seen: map[string]string{}, n: map[string]int{}}
}

// Mask replaces each span with a numbered typed placeholder such as
// <EMAIL_ADDRESS_1> and remembers the original.
func (v *Vault) Mask(text string, spans []Span) string {
	var b strings.Builder
	last := 0
	for _, s := range spans {
		if s.Start < last {
			continue
		}
		b.WriteString(text[last:s.Start])
		orig := text[s.Start:s.End]
		key := s.Label + "\x00" + orig
		ph, ok := v.seen[key]
		if !ok {
			v.n[s.Label]++
			ph = "<" + strings.ToUpper(s.Label) + "_" + strconv.Itoa(v.n[s.Label]) + ">"
			v.seen[key] = ph
			v.values[ph] = orig
		}
		b.WriteString(ph)
		last = s.End
	}
	b.WriteString(text[last:])
	return b.String()
}

// Restore puts the originals back in place of the placeholders.
func (v *Vault) Restore(text string) string {
	if len(v.values) == 0 || !strings.Contains(text, "<") {
		return text
	}
	pairs := make([]string, 0, 2*len(v.values))
	for ph, orig := range v.values {
		pairs = append(pairs, ph, orig)
	}
	return strings.NewReplacer(pairs...).Replace(text)
}
