package encoder

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/classifiers/onnxmodel"
	"github.com/sieve-stream/sieve/internal/onnxrt"
	"github.com/sieve-stream/sieve/internal/tokenizer"
)

// benchModel writes a BERT-shaped model of the given size.
func benchModel(b *testing.B, shape onnxmodel.BERTShape) string {
	b.Helper()
	if _, err := Library(""); err != nil {
		b.Skipf("ONNX Runtime is not installed here (run ./scripts/test-deps.sh): %v", err)
	}
	dir := b.TempDir()
	must(b, os.WriteFile(filepath.Join(dir, "model.onnx"), onnxmodel.BERTEncoder(21, shape, 2, 7), 0o644))
	tj, err := os.ReadFile("../../internal/tokenizer/testdata/bert-tiny-tokenizer.json")
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
	dir := benchModel(b, onnxmodel.MiniLM)
	texts := postMix(256)
	for _, padding := range []string{PadBuckets, PadBatch, PadMax} {
		b.Run(padding, func(b *testing.B) {
			e, err := Load(Config{Dir: dir, Padding: padding, BatchSize: 32, Options: onnxrt.Options{Threads: 2}})
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

// BenchmarkFixedShape is ONNX Runtime alone at fixed batch shapes: the
// ceiling for any padding strategy.
func BenchmarkFixedShape(b *testing.B) {
	for _, size := range []struct {
		name  string
		shape onnxmodel.BERTShape
	}{{"minilm", onnxmodel.MiniLM}, {"distilbert", onnxmodel.DistilBERT}} {
		dir := benchModel(b, size.shape)
		e, err := Load(Config{Dir: dir, BatchSize: 32, Options: onnxrt.Options{Threads: 2}, Padding: PadBatch})
		must(b, err)
		fixedShapes(b, size.name, e)
		e.Close()
	}
}

func fixedShapes(b *testing.B, name string, e *Encoder) {
	for _, seq := range []int{16, 32, 64, 128} {
		b.Run(name+"/"+strconv.Itoa(seq), func(b *testing.B) {
			encs := make([]tokenizer.Encoding, 32)
			for i := range encs {
				ids := make([]int64, seq)
				mask := make([]int64, seq)
				for j := range ids {
					ids[j], mask[j] = int64(3+j%15), 1
				}
				encs[i] = tokenizer.Encoding{IDs: ids, AttentionMask: mask, TypeIDs: make([]int64, seq)}
			}
			for b.Loop() {
				if _, err := e.classifyRows(context.Background(), encs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(encs))/b.Elapsed().Seconds(), "texts/s")
			b.ReportMetric(float64(b.N*len(encs)*seq)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
