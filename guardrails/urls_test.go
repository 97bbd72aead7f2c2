package guardrails

import "testing"

func TestURLs(t *testing.T) {
	u := URLs{Deny: []string{"evil.example"}}
	tests := []struct{ text, label string }{
		{"login at https://paypa1.com/verify now", LabelURLLookalike},
		{"see https://paypal.com.account-check.io/login", LabelURLLookalike},
		{"short https://bit.ly/3xYz", LabelURLShortener},
		{"go to http://xn--pypal-4ve.com", LabelURLPunycode},
		{"bad http://cdn.evil.example/x.js", LabelURLDenied},
		// Hard negatives: the real domain, its subdomains, ordinary sites.
		{"pay at https://www.paypal.com/checkout.", ""},
		{"docs on https://go.dev/doc and www.example.org", ""},
		{"https://googleapis.com is not a look-alike of google.com", ""},
	}
	for _, tt := range tests {
		spans := u.Scan(tt.text)
		switch {
		case tt.label == "" && len(spans) > 0:
			t.Errorf("%q: flagged %s", tt.text, spans[0].Label)
		case tt.label != "" && (len(spans) != 1 || spans[0].Label != tt.label):
			t.Errorf("%q: got %v, want %s", tt.text, spans, tt.label)
		}
	}
	allow := URLs{Allow: []string{"example.com"}}
	if s := allow.Scan("see https://shop.example.com and https://other.net"); len(s) != 1 || s[0].Label != LabelURLNotAllowed {
		t.Errorf("allow list: %v", s)
	}
}

func FuzzURLs(f *testing.F) {
	f.Add("see https://paypa1.com/x and http://xn--pypal-4ve.com www.bit.ly/a")
	f.Fuzz(func(t *testing.T, s string) {
		for _, sp := range (URLs{Deny: []string{"evil.example"}}).Scan(s) {
			if sp.Start < 0 || sp.End > len(s) || sp.End <= sp.Start {
				t.Fatalf("bad span %+v", sp)
			}
		}
	})
}
