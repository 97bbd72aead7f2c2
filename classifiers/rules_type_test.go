package classifiers

import (
	"context"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The rules type, reached only through the registry: a config entry
// decodes into its spec, defaults, validates with the field named, and
// builds a working classifier.
func TestRulesTypeThroughTheRegistry(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string // "" means it builds
		text    string
		flagged bool
	}{
		{"defaults to the built-in rule set", `type: rules`, "", "click here to claim your free prize", true},
		{"a rule set of its own", `{type: rules, rules: {name: mine, rules: [{label: spam, weight: 0.9, keywords: [zorp]}]}}`, "", "buy zorp now", true},
		{"a bad weight names its field", `{type: rules, rules: {rules: [{label: spam, weight: 2, keywords: [x]}]}}`, "rules.rules[0].weight", "", false},
		{"an unknown field is refused with its line", `{type: rules, keywords: [x]}`, "field keywords not found in classifier type rules", "", false},
		{"an unknown type names the registered ones", `{type: bert}`, `type: "bert" is not`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			err := yaml.Unmarshal([]byte(tt.yaml), &c)
			if err == nil {
				c.EnsureDefaults()
				err = c.Validate()
			}
			var cl Classifier
			if err == nil {
				cl, err = c.New()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			scores, err := cl.Classify(context.Background(), []string{tt.text})
			if err != nil {
				t.Fatal(err)
			}
			d := cl.Describe()
			j := -1
			for i, l := range d.Labels {
				if l == "spam" {
					j = i
				}
			}
			if j < 0 {
				t.Fatalf("no spam label in %v", d.Labels)
			}
			if got := float64(scores[0][j]) >= d.Thresholds["spam"]; got != tt.flagged {
				t.Fatalf("%q: spam %.2f against threshold %.2f, flagged %v, want %v", tt.text, scores[0][j], d.Thresholds["spam"], got, tt.flagged)
			}
		})
	}
	if _, ok := LookupType("rules"); !ok {
		t.Fatal("rules is not registered")
	}
	if !strings.Contains(TypeNames(), "rules") || !strings.Contains(TypeNames(), "nop") {
		t.Fatalf("TypeNames() = %q", TypeNames())
	}
}
