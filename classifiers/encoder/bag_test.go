package encoder

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sieve-stream/sieve/classifiers"
)

func TestTrainBagExportsAWorkingModel(t *testing.T) {
	if _, err := Library(""); err != nil {
		t.Skipf("ONNX Runtime is not installed here (run ./scripts/test-deps.sh): %v", err)
	}
	var data []classifiers.Example
	spam := []string{"win a free prize now", "claim your cash reward", "free entry win tickets", "urgent prize claim now"}
	ham := []string{"see you at lunch", "the meeting is at noon", "thanks for the photo", "call me when home"}
	for i := range 50 {
		data = append(data, classifiers.Example{ID: "s", Text: spam[i%4], Labels: []string{"spam"}},
			classifiers.Example{ID: "h", Text: ham[i%4]})
	}
	dir := filepath.Join(t.TempDir(), "bag")
	if err := TrainBag(data, dir, BagOptions{Labels: []string{"spam"}, Epochs: 20, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.onnx", "tokenizer.json", "config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	e, err := Load(Config{Dir: dir})
	must(t, err)
	defer e.Close()
	got, err := e.Classify(context.Background(), []string{"free cash prize, claim now", "see you at the meeting"})
	must(t, err)
	if got[0][0] < 0.5 || got[1][0] > 0.5 {
		t.Fatalf("scores %v", got)
	}
}
