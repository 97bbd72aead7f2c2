package guardrails

import (
	"testing"

	"github.com/sieve-stream/sieve/models"
)

func TestGibberish(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"asdkjh qwrtzp xcvbnm lkjhgf", true},
		{"zxcvbnmq wrtyplkj hhhhhhh", true},
		{"the update broke everything again today", false},
		{"strengths rhythms twelfths", false}, // real words with consonant runs below five
		{"ok", false},
	} {
		if got := len(Gibberish{}.Scan(c.text)) > 0; got != c.want {
			t.Errorf("%q: gibberish %v, want %v", c.text, got, c.want)
		}
	}
}

func TestClassifierScanner(t *testing.T) {
	spam, err := models.Builtin("spam")
	if err != nil {
		t.Fatal(err)
	}
	s := ClassifierScanner{Classifier: spam}
	if got := s.Scan("WINNER!! claim your free cash prize now, txt WIN to 80082"); len(got) != 1 || got[0].Label != "spam" {
		t.Fatalf("spam not found: %v", got)
	}
	if got := s.Scan("see you at the park later"); len(got) != 0 {
		t.Fatalf("clean text flagged: %v", got)
	}
}
