package onnxmodel

import (
	"fmt"
	"math"
)

// BERT sizes for benchmarks.
var (
	MiniLM     = BERTShape{Dim: 384, Heads: 12, FFN: 1536, Layers: 6}
	DistilBERT = BERTShape{Dim: 768, Heads: 12, FFN: 3072, Layers: 6}
)

// BERTShape sizes a transformer encoder.
type BERTShape struct {
	Dim, Heads, FFN, Layers int
}

// BERTEncoder writes a transformer encoder of the given shape with seeded
// random weights: embeddings, then per layer multi-head self-attention with
// the attention mask, residual and LayerNormalization, a ReLU feed-forward
// block, residual and LayerNormalization; then masked mean pooling and a
// classifier. Its cost per text is a real encoder's (quadratic attention
// included), which is what benchmarks need; its scores mean nothing.
func BERTEncoder(vocab int, s BERTShape, labels int, seed uint64) []byte {
	rnd := newRand(seed).floats
	ones := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = 1
		}
		return x
	}
	d, h := s.Dim, s.Heads
	dh := d / h
	emb, w0, b0 := rnd(vocab*d, 0.1), rnd(d*labels, 0.1), rnd(labels, 0.1)
	g := encoderGraph("bert-shaped", vocab, d, labels, emb, w0, b0, "x0")
	g.Initializers = append(g.Initializers,
		Tensor{Name: "axes12", Dims: []int64{2}, Type: Int64, Int64s: []int64{1, 2}},
		Tensor{Name: "neg", Dims: []int64{}, Type: Float, Floats: []float32{-10000}},
		Tensor{Name: "scale", Dims: []int64{}, Type: Float, Floats: []float32{float32(1 / math.Sqrt(float64(dh)))}},
		Tensor{Name: "heads", Dims: []int64{4}, Type: Int64, Int64s: []int64{0, 0, int64(h), int64(dh)}},
		Tensor{Name: "merge", Dims: []int64{3}, Type: Int64, Int64s: []int64{0, 0, int64(d)}},
		Tensor{Name: "gamma", Dims: []int64{int64(d)}, Type: Float, Floats: ones(d)},
		Tensor{Name: "beta", Dims: []int64{int64(d)}, Type: Float, Floats: make([]float32, d)})
	g.Nodes = append(g.Nodes,
		// Additive mask: 0 where attended, -10000 at padding, as [B,1,1,T].
		Node{Op: "Sub", Inputs: []string{"one", "m"}, Outputs: []string{"inv"}},
		Node{Op: "Mul", Inputs: []string{"inv", "neg"}, Outputs: []string{"maskadd"}},
		Node{Op: "Unsqueeze", Inputs: []string{"maskadd", "axes12"}, Outputs: []string{"mask4"}})
	x := "x0"
	w := float32(1 / math.Sqrt(float64(d)))
	for l := range s.Layers {
		p := func(n string) string { return fmt.Sprintf("l%d_%s", l, n) }
		for _, n := range []string{"wq", "wk", "wv", "wo"} {
			g.Initializers = append(g.Initializers, Tensor{Name: p(n), Dims: []int64{int64(d), int64(d)}, Type: Float, Floats: rnd(d*d, w)})
		}
		g.Initializers = append(g.Initializers,
			Tensor{Name: p("w1"), Dims: []int64{int64(d), int64(s.FFN)}, Type: Float, Floats: rnd(d*s.FFN, w)},
			Tensor{Name: p("w2"), Dims: []int64{int64(s.FFN), int64(d)}, Type: Float, Floats: rnd(s.FFN*d, float32(1/math.Sqrt(float64(s.FFN))))})
		g.Nodes = append(g.Nodes,
			Node{Op: "MatMul", Inputs: []string{x, p("wq")}, Outputs: []string{p("q")}},
			Node{Op: "MatMul", Inputs: []string{x, p("wk")}, Outputs: []string{p("k")}},
			Node{Op: "MatMul", Inputs: []string{x, p("wv")}, Outputs: []string{p("v")}},
			Node{Op: "Reshape", Inputs: []string{p("q"), "heads"}, Outputs: []string{p("q4")}},
			Node{Op: "Reshape", Inputs: []string{p("k"), "heads"}, Outputs: []string{p("k4")}},
			Node{Op: "Reshape", Inputs: []string{p("v"), "heads"}, Outputs: []string{p("v4")}},
			Node{Op: "Transpose", Inputs: []string{p("q4")}, Outputs: []string{p("qh")}, Attrs: []Attr{{Name: "perm", Ints: []int64{0, 2, 1, 3}}}},
			Node{Op: "Transpose", Inputs: []string{p("k4")}, Outputs: []string{p("kt")}, Attrs: []Attr{{Name: "perm", Ints: []int64{0, 2, 3, 1}}}},
			Node{Op: "Transpose", Inputs: []string{p("v4")}, Outputs: []string{p("vh")}, Attrs: []Attr{{Name: "perm", Ints: []int64{0, 2, 1, 3}}}},
			Node{Op: "MatMul", Inputs: []string{p("qh"), p("kt")}, Outputs: []string{p("s")}},
			Node{Op: "Mul", Inputs: []string{p("s"), "scale"}, Outputs: []string{p("ss")}},
			Node{Op: "Add", Inputs: []string{p("ss"), "mask4"}, Outputs: []string{p("sm")}},
			Node{Op: "Softmax", Inputs: []string{p("sm")}, Outputs: []string{p("a")}, Attrs: []Attr{{Name: "axis", Int: Int(-1)}}},
			Node{Op: "MatMul", Inputs: []string{p("a"), p("vh")}, Outputs: []string{p("c")}},
			Node{Op: "Transpose", Inputs: []string{p("c")}, Outputs: []string{p("ct")}, Attrs: []Attr{{Name: "perm", Ints: []int64{0, 2, 1, 3}}}},
			Node{Op: "Reshape", Inputs: []string{p("ct"), "merge"}, Outputs: []string{p("cm")}},
			Node{Op: "MatMul", Inputs: []string{p("cm"), p("wo")}, Outputs: []string{p("o")}},
			Node{Op: "Add", Inputs: []string{x, p("o")}, Outputs: []string{p("r1")}},
			Node{Op: "LayerNormalization", Inputs: []string{p("r1"), "gamma", "beta"}, Outputs: []string{p("n1")}, Attrs: []Attr{{Name: "axis", Int: Int(-1)}}},
			Node{Op: "MatMul", Inputs: []string{p("n1"), p("w1")}, Outputs: []string{p("f1")}},
			Node{Op: "Relu", Inputs: []string{p("f1")}, Outputs: []string{p("f2")}},
			Node{Op: "MatMul", Inputs: []string{p("f2"), p("w2")}, Outputs: []string{p("f3")}},
			Node{Op: "Add", Inputs: []string{p("n1"), p("f3")}, Outputs: []string{p("r2")}},
			Node{Op: "LayerNormalization", Inputs: []string{p("r2"), "gamma", "beta"}, Outputs: []string{p("x")}, Attrs: []Attr{{Name: "axis", Int: Int(-1)}}},
		)
		x = p("x")
	}
	g.Nodes = append(g.Nodes, poolAndClassify(x)...)
	return g.Marshal()
}
