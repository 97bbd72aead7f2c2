package encoder

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/classifiers/onnxmodel"
)

// benchModel writes a MiniLM-sized stand-in (dim 384, FFN 1536, 6 layers).
func benchModel(b *testing.B) string {
	b.Helper()
	if _, err := Library(""); err != nil {
		b.Skipf("ONNX Runtime is not installed here (run ./scripts/test-deps.sh): %v", err)
	}
	dir := b.TempDir()
	must(b, os.WriteFile(filepath.Join(dir, "model.onnx"), onnxmodel.FFNEncoder(21, 384, 1536, 6, 2, 7), 0o644))
	tj, err := os.ReadFile("../tokenizer/testdata/bert-tiny-tokenizer.json")
	must(b, err)
	must(b, os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644))
	must(b, os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"id2label": {"0": "ok", "1": "bad"}, "max_position_embeddings": 512}`), 0o644))
	return dir
}

// postMix is a realistic social mix: most posts under 40 tokens, a tail
// to 512.
func postMix(n int) []string {
	r := rand.New(rand.NewPCG(9, 9))
	words := []string{"hello", "how", "are", "you", "unwanted", "running", "!", "?"}
	out := make([]string, n)
	for i := range out {
		k := 4 + r.IntN(30)
		if r.IntN(10) == 0 {
			k = 40 + r.IntN(470)
		}
		var b strings.Builder
		for range k {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		out[i] = b.String()
	}
	return out
}

func BenchmarkPadding(b *testing.B) {
	dir := benchModel(b)
	texts := postMix(256)
	for _, padding := range []string{PadBuckets, PadBatch, PadMax} {
		b.Run(padding, func(b *testing.B) {
			e, err := Load(Config{Dir: dir, Padding: padding, BatchSize: 32, Threads: 2})
			must(b, err)
			defer e.Close()
			for b.Loop() {
				if _, err := e.Classify(context.Background(), texts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "texts/s")
		})
	}
}
