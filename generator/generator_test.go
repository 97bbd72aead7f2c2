package generator

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/models"
)

func TestChrF(t *testing.T) {
	if got := ChrF("the cat sat", "the cat sat"); math.Abs(got-1) > 1e-9 {
		t.Fatalf("identical: %v", got)
	}
	if got := ChrF("abc", "xyz"); got != 0 {
		t.Fatalf("disjoint: %v", got)
	}
	a, b := ChrF("the cat sat on the mat", "the cat sat on a mat"), ChrF("a dog ran", "the cat sat on a mat")
	if !(a > 0.6 && b < 0.3) {
		t.Fatalf("close %v, far %v", a, b)
	}
}

func TestEmbeddedRewriterRemovesOffendingWords(t *testing.T) {
	tox, err := models.Builtin("toxicity")
	if err != nil {
		t.Fatal(err)
	}
	rw := &Embedded{Model: tox, Labels: tox.Describe().Labels}
	in := []string{"im not gonna sell the fucking picture , i just want to contribute to the fucking article .", "what a lovely day at the beach"}
	out, err := rw.Rewrite(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out[0], "fucking") || !strings.Contains(out[0], "picture") || strings.Contains(out[0], " ,") {
		t.Fatalf("rewrite %q", out[0])
	}
	if out[1] != in[1] {
		t.Fatalf("a clean text was changed: %q", out[1])
	}
	scores, _ := tox.Classify(context.Background(), out[:1])
	for j, l := range tox.Describe().Labels {
		if float64(scores[0][j]) >= tox.Describe().Thresholds[l] {
			t.Fatalf("rewrite still flagged %s: %v", l, scores[0][j])
		}
	}
}
