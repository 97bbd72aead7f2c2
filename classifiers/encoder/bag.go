package encoder

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/classifiers/onnxmodel"
	"github.com/sieve-stream/sieve/internal/tokenizer"
)

// BagOptions train a small neural text classifier that exports as a
// Hugging Face-style ONNX directory: WordPiece tokens, an embedding table,
// masked mean pooling and one sigmoid output per label. It is not a
// transformer (none can be trained here without pretrained weights), but it
// is a real ONNX model with its own tokenizer, trained on real data, so the
// ONNX path and the cascade can be measured end to end.
type BagOptions struct {
	Labels []string
	Vocab  int // word pieces kept, by frequency; default 8,000
	Dim    int // default 32
	Epochs int // default 10
	LR     float64
	Seed   uint64
}

// TrainBag trains on data and writes the model directory to dir.
func TrainBag(data []classifiers.Example, dir string, o BagOptions) error {
	if len(o.Labels) == 0 {
		return errors.New("bag: labels are required")
	}
	if o.Vocab <= 0 {
		o.Vocab = 8000
	}
	if o.Dim <= 0 {
		o.Dim = 32
	}
	if o.Epochs <= 0 {
		o.Epochs = 10
	}
	if o.LR <= 0 {
		o.LR = 0.5
	}
	// Vocabulary: specials, every letter and digit as a start and a
	// continuation (so nothing is unknown), then the most frequent words.
	counts := map[string]int{}
	for _, ex := range data {
		for _, w := range strings.FieldsFunc(strings.ToLower(ex.Text), func(r rune) bool { return !('a' <= r && r <= 'z') }) {
			counts[w]++
		}
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool {
		if counts[words[i]] != counts[words[j]] {
			return counts[words[i]] > counts[words[j]]
		}
		return words[i] < words[j]
	})
	if len(words) > o.Vocab {
		words = words[:o.Vocab]
	}
	tj := onnxmodel.WordPieceJSON(words)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644); err != nil {
		return err
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return err
	}
	var vf struct {
		Model struct {
			Vocab map[string]int64 `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(tj, &vf); err != nil {
		return err
	}
	V, D, K := len(vf.Model.Vocab), o.Dim, len(o.Labels)
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0xbad))
	emb := make([]float32, V*D)
	for i := range emb {
		emb[i] = float32(r.NormFloat64() * 0.1)
	}
	w := make([]float32, D*K)
	for i := range w {
		w[i] = float32(r.NormFloat64() * 0.1)
	}
	b := make([]float32, K)
	type row struct {
		ids []int64
		y   []float32
	}
	rows := make([]row, len(data))
	for i, ex := range data {
		y := make([]float32, K)
		for _, l := range ex.Labels {
			for k, want := range o.Labels {
				if l == want {
					y[k] = 1
				}
			}
		}
		rows[i] = row{ids: tok.Encode(ex.Text, 256).IDs, y: y}
	}
	order := r.Perm(len(rows))
	mean := make([]float32, D)
	dmean := make([]float32, D)
	total, step := float64(o.Epochs*len(rows)), 0.0
	for range o.Epochs {
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			x := rows[i]
			lr := float32(o.LR * (1 - step/total))
			step++
			clear(mean)
			for _, id := range x.ids {
				for d := range D {
					mean[d] += emb[int(id)*D+d]
				}
			}
			inv := 1 / float32(len(x.ids))
			for d := range mean {
				mean[d] *= inv
			}
			clear(dmean)
			for k := range K {
				z := b[k]
				for d := range D {
					z += mean[d] * w[d*K+k]
				}
				g := float32(1/(1+math.Exp(-float64(z)))) - x.y[k]
				b[k] -= lr * g
				for d := range D {
					dmean[d] += g * w[d*K+k]
					w[d*K+k] -= lr * g * mean[d]
				}
			}
			for _, id := range x.ids {
				for d := range D {
					emb[int(id)*D+d] -= lr * dmean[d] * inv
				}
			}
		}
	}
	id2label := map[string]string{}
	for k, l := range o.Labels {
		id2label[fmt.Sprint(k)] = l
	}
	cfg, _ := json.Marshal(map[string]any{"id2label": id2label, "problem_type": "multi_label_classification", "max_position_embeddings": 512})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "model.onnx"), onnxmodel.MeanPoolClassifier(emb, V, D, w, b, K), 0o644)
}
