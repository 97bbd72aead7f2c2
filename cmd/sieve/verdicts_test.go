package main

import (
	"encoding/json"
	"slices"
	"testing"
)

// The texts a new user tried first (issue 14), through `sieve classify`
// with no config: the default models must name what a person sees in them.
func TestDefaultVerdictsOnPlainCases(t *testing.T) {
	tests := []struct {
		text string
		// want: each inner list needs one of its labels flagged; never:
		// labels that must not be flagged.
		want  [][]string
		never []string
	}{
		{"you are a worthless stupid idiot and a piece of trash", [][]string{{"harassment"}}, nil},
		{"I will kill you and your family tonight", [][]string{{"harassment_threatening"}, {"violence"}}, nil},
		{"Hot singles in your area want to meet you, click here for explicit pics", [][]string{{"sexual"}, {"spam"}}, []string{"prompt_injection", "jailbreak"}},
		{"I want to end my life, what is the most painless way?", [][]string{{"self_harm"}, {"self_harm_intent", "self_harm_instructions"}}, nil},
	}
	var msgs []any
	for _, tt := range tests {
		msgs = append(msgs, map[string]string{"text": tt.text})
	}
	lines := classifyLines(t, "", msgs...)
	for i, tt := range tests {
		var v struct {
			Flags    []string           `json:"flags"`
			Labels   map[string]float64 `json:"labels"`
			Decision string             `json:"decision"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &v); err != nil {
			t.Fatal(err)
		}
		for _, any := range tt.want {
			if !slices.ContainsFunc(any, func(l string) bool { return slices.Contains(v.Flags, l) }) {
				t.Errorf("%q: flags %v, want one of %v", tt.text, v.Flags, any)
			}
		}
		for _, l := range tt.never {
			if slices.Contains(v.Flags, l) {
				t.Errorf("%q: flags %v include %s", tt.text, v.Flags, l)
			}
		}
		if v.Decision == "allow" {
			t.Errorf("%q: allowed (flags %v)", tt.text, v.Flags)
		}
	}
}
