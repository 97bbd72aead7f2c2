package guardrails

import "testing"

func TestSecrets(t *testing.T) {
	tests := []struct {
		text string
		kind string // "" means nothing found
	}{
		{"key AKIAIOSFODNN7EXAMPLE in the config", "aws_access_key"},
		{"token ghp_1234567890abcdefghijklmnopqrstuvwxyzAB pushed", "github_token"},
		{"slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "slack_token"},
		{"stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe_key"},
		{"google AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "google_api_key"},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----", "private_key"},
		{"auth eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "jwt"},
		{"password=Zq8#vR2!kL9@xT4$mW7^pN3&", ""}, // symbols outside the candidate alphabet: not a token shape
		{"session 7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb", "high_entropy"},
		// Hard negatives: long words, repeated characters, plain sentences.
		{"supercalifragilisticexpialidocious is a word", ""},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", ""},
		{"the quick brown fox jumps over the lazy dog 1234", ""},
	}
	for _, tt := range tests {
		spans := Secrets{}.Scan(tt.text)
		if tt.kind == "" {
			if len(spans) != 0 {
				t.Errorf("%q: found %q", tt.text, tt.text[spans[0].Start:spans[0].End])
			}
			continue
		}
		if len(spans) != 1 {
			t.Errorf("%q: %d spans", tt.text, len(spans))
			continue
		}
		if k := SecretKind(tt.text[spans[0].Start:spans[0].End]); k != tt.kind {
			t.Errorf("%q: kind %s, want %s", tt.text, k, tt.kind)
		}
	}
}

func FuzzSecrets(f *testing.F) {
	f.Add("AKIAIOSFODNN7EXAMPLE ghp_x -----BEGIN PRIVATE KEY-----")
	f.Fuzz(func(t *testing.T, s string) {
		for _, sp := range (Secrets{}).Scan(s) {
			if sp.Start < 0 || sp.End > len(s) || sp.End <= sp.Start {
				t.Fatalf("bad span %+v", sp)
			}
		}
	})
}
