package plots

import (
	"context"
	"image/png"
	"os"
	"testing"

	"github.com/sieve-stream/sieve/classifiers"
)

func TestPR(t *testing.T) {
	pts := PR([]float32{0.9, 0.8, 0.3, 0.1}, []bool{true, false, true, false})
	want := [][2]float64{{0.5, 1}, {0.5, 0.5}, {1, 2.0 / 3}, {1, 0.5}}
	if len(pts) != len(want) {
		t.Fatalf("%v", pts)
	}
	for i, w := range want {
		if pts[i].X != w[0] || pts[i].Y != w[1] {
			t.Fatalf("point %d = %v, want %v", i, pts[i], w)
		}
	}
}

func TestWritePNGs(t *testing.T) {
	r, err := classifiers.NewRules(classifiers.DefaultRules)
	if err != nil {
		t.Fatal(err)
	}
	data := []classifiers.Example{
		{ID: "1", Text: "WIN a FREE prize, click here http://x.example", Labels: []string{"spam"}},
		{ID: "2", Text: "see you later"},
		{ID: "3", Text: "you stupid idiot", Labels: []string{"toxic"}},
		{ID: "4", Text: "free entry, claim now", Labels: []string{"spam"}},
	}
	rep, err := classifiers.Evaluate(context.Background(), []classifiers.Classifier{r}, data, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Write(t.TempDir(), rep)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("wrote %v", files)
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(fh)
		fh.Close()
		if err != nil || img.Bounds().Dx() < 100 {
			t.Fatalf("%s is not a usable PNG: %v", f, err)
		}
	}
}
