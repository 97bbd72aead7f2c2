// Package onnxmodel writes ONNX models (the ModelProto protobuf) from Go,
// so tests and benchmarks build their own encoder-shaped models: nothing
// is downloaded, and a test can compute the expected scores itself.
package onnxmodel

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Element types of ONNX tensors.
const (
	Float = 1
	Int64 = 7
)

// Tensor is an initializer: a named constant.
type Tensor struct {
	Name   string
	Dims   []int64
	Type   int // Float or Int64
	Floats []float32
	Int64s []int64
}

// Value is a graph input or output; a dim of -1 is symbolic (named by
// DimNames at the same index, or "dN").
type Value struct {
	Name     string
	Type     int
	Dims     []int64
	DimNames []string
}

// Attr is a node attribute: an int, ints or a float.
type Attr struct {
	Name  string
	Int   *int64
	Ints  []int64
	Float *float32
}

// Node is one operator.
type Node struct {
	Op      string
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// Graph is a whole model.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []Value
	Outputs      []Value
	Opset        int64 // default 17
}

// Int returns a pointer, for Attr.Int.
func Int(v int64) *int64 { return &v }

// Marshal encodes the model as ONNX protobuf bytes.
func (g *Graph) Marshal() []byte {
	opset := g.Opset
	if opset == 0 {
		opset = 17
	}
	var graph []byte
	for _, n := range g.Nodes {
		graph = protowire.AppendTag(graph, 1, protowire.BytesType)
		graph = protowire.AppendBytes(graph, node(n))
	}
	graph = appendString(graph, 2, g.Name)
	for _, t := range g.Initializers {
		graph = protowire.AppendTag(graph, 5, protowire.BytesType)
		graph = protowire.AppendBytes(graph, tensor(t))
	}
	for _, v := range g.Inputs {
		graph = protowire.AppendTag(graph, 11, protowire.BytesType)
		graph = protowire.AppendBytes(graph, valueInfo(v))
	}
	for _, v := range g.Outputs {
		graph = protowire.AppendTag(graph, 12, protowire.BytesType)
		graph = protowire.AppendBytes(graph, valueInfo(v))
	}
	var m []byte
	m = protowire.AppendTag(m, 1, protowire.VarintType) // ir_version
	m = protowire.AppendVarint(m, 8)
	m = appendString(m, 2, "sieve")
	m = protowire.AppendTag(m, 7, protowire.BytesType)
	m = protowire.AppendBytes(m, graph)
	var os []byte
	os = appendString(os, 1, "")
	os = protowire.AppendTag(os, 2, protowire.VarintType)
	os = protowire.AppendVarint(os, uint64(opset))
	m = protowire.AppendTag(m, 8, protowire.BytesType)
	m = protowire.AppendBytes(m, os)
	return m
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func node(n Node) []byte {
	var b []byte
	for _, in := range n.Inputs {
		b = appendString(b, 1, in)
	}
	for _, out := range n.Outputs {
		b = appendString(b, 2, out)
	}
	b = appendString(b, 4, n.Op)
	for _, a := range n.Attrs {
		var ab []byte
		ab = appendString(ab, 1, a.Name)
		switch {
		case a.Int != nil:
			ab = protowire.AppendTag(ab, 3, protowire.VarintType)
			ab = protowire.AppendVarint(ab, uint64(*a.Int))
			ab = protowire.AppendTag(ab, 20, protowire.VarintType)
			ab = protowire.AppendVarint(ab, 2) // INT
		case a.Float != nil:
			ab = protowire.AppendTag(ab, 2, protowire.Fixed32Type)
			ab = protowire.AppendFixed32(ab, math.Float32bits(*a.Float))
			ab = protowire.AppendTag(ab, 20, protowire.VarintType)
			ab = protowire.AppendVarint(ab, 1) // FLOAT
		default:
			for _, v := range a.Ints {
				ab = protowire.AppendTag(ab, 8, protowire.VarintType)
				ab = protowire.AppendVarint(ab, uint64(v))
			}
			ab = protowire.AppendTag(ab, 20, protowire.VarintType)
			ab = protowire.AppendVarint(ab, 7) // INTS
		}
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, ab)
	}
	return b
}

func tensor(t Tensor) []byte {
	var b []byte
	for _, d := range t.Dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.Type))
	b = appendString(b, 8, t.Name)
	var raw []byte
	switch t.Type {
	case Float:
		raw = make([]byte, 4*len(t.Floats))
		for i, f := range t.Floats {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
		}
	case Int64:
		raw = make([]byte, 8*len(t.Int64s))
		for i, v := range t.Int64s {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
		}
	}
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

func valueInfo(v Value) []byte {
	var shape []byte
	for i, d := range v.Dims {
		var dim []byte
		if d >= 0 {
			dim = protowire.AppendTag(dim, 1, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d))
		} else {
			name := "d" + string(rune('0'+i))
			if i < len(v.DimNames) && v.DimNames[i] != "" {
				name = v.DimNames[i]
			}
			dim = appendString(dim, 2, name)
		}
		shape = protowire.AppendTag(shape, 1, protowire.BytesType)
		shape = protowire.AppendBytes(shape, dim)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, 1, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(v.Type))
	tt = protowire.AppendTag(tt, 2, protowire.BytesType)
	tt = protowire.AppendBytes(tt, shape)
	var typ []byte
	typ = protowire.AppendTag(typ, 1, protowire.BytesType)
	typ = protowire.AppendBytes(typ, tt)
	var b []byte
	b = appendString(b, 1, v.Name)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, typ)
}

// MeanPoolClassifier is the smallest encoder-shaped classifier: token
// embeddings, masked mean over the sequence, one linear layer to logits.
// It takes input_ids and attention_mask ([batch, sequence] int64) and gives
// logits ([batch, labels] float32), as a Hugging Face export does.
func MeanPoolClassifier(emb []float32, vocab, dim int, w []float32, bias []float32, labels int) []byte {
	g := encoderGraph("meanpool", vocab, dim, labels, emb, w, bias, "x")
	g.Nodes = append(g.Nodes, poolAndClassify("x")...)
	return g.Marshal()
}

// FFNEncoder is a BERT-sized stand-in for benchmarks: token embeddings,
// layers of per-token feed-forward blocks (dim → ffn → dim with a ReLU and
// a residual), a masked mean and a classifier. Its cost grows with the
// padded sequence length as a transformer's does (attention aside), which
// is what padding strategies change. Weights are seeded random numbers.
func FFNEncoder(vocab, dim, ffn, layers, labels int, seed uint64) []byte {
	rnd := newRand(seed).floats
	emb, w, b := rnd(vocab*dim, 0.1), rnd(dim*labels, 0.1), rnd(labels, 0.1)
	g := encoderGraph("ffn-encoder", vocab, dim, labels, emb, w, b, "h0")
	h := "h0"
	for l := range layers {
		p := func(s string) string { return s + string(rune('a'+l)) }
		g.Initializers = append(g.Initializers,
			Tensor{Name: p("w1"), Dims: []int64{int64(dim), int64(ffn)}, Type: Float, Floats: rnd(dim*ffn, 0.05)},
			Tensor{Name: p("w2"), Dims: []int64{int64(ffn), int64(dim)}, Type: Float, Floats: rnd(ffn*dim, 0.05)})
		g.Nodes = append(g.Nodes,
			Node{Op: "MatMul", Inputs: []string{h, p("w1")}, Outputs: []string{p("u")}},
			Node{Op: "Relu", Inputs: []string{p("u")}, Outputs: []string{p("r")}},
			Node{Op: "MatMul", Inputs: []string{p("r"), p("w2")}, Outputs: []string{p("v")}},
			Node{Op: "Add", Inputs: []string{h, p("v")}, Outputs: []string{p("h")}})
		h = p("h")
	}
	g.Nodes = append(g.Nodes, poolAndClassify(h)...)
	return g.Marshal()
}

// encoderGraph is what every generated encoder starts from: the inputs
// input_ids and attention_mask and the output logits as a Hugging Face
// export has them; initializers emb, w, b, axis1, axis2, one; and nodes
// that look up the embeddings as x ([B,T,dim]), cast the mask to "m" and
// unsqueeze it to "m3" ([B,T,1]) for poolAndClassify.
func encoderGraph(name string, vocab, dim, labels int, emb, w, b []float32, x string) Graph {
	return Graph{Name: name,
		Initializers: []Tensor{
			{Name: "emb", Dims: []int64{int64(vocab), int64(dim)}, Type: Float, Floats: emb},
			{Name: "w", Dims: []int64{int64(dim), int64(labels)}, Type: Float, Floats: w},
			{Name: "b", Dims: []int64{int64(labels)}, Type: Float, Floats: b},
			{Name: "axis1", Dims: []int64{1}, Type: Int64, Int64s: []int64{1}},
			{Name: "axis2", Dims: []int64{1}, Type: Int64, Int64s: []int64{2}},
			{Name: "one", Dims: []int64{}, Type: Float, Floats: []float32{1}},
		},
		Nodes: []Node{
			{Op: "Gather", Inputs: []string{"emb", "input_ids"}, Outputs: []string{x}, Attrs: []Attr{{Name: "axis", Int: Int(0)}}},
			{Op: "Cast", Inputs: []string{"attention_mask"}, Outputs: []string{"m"}, Attrs: []Attr{{Name: "to", Int: Int(Float)}}},
			{Op: "Unsqueeze", Inputs: []string{"m", "axis2"}, Outputs: []string{"m3"}},
		},
		Inputs: []Value{
			{Name: "input_ids", Type: Int64, Dims: []int64{-1, -1}, DimNames: []string{"batch", "sequence"}},
			{Name: "attention_mask", Type: Int64, Dims: []int64{-1, -1}, DimNames: []string{"batch", "sequence"}},
		},
		Outputs: []Value{{Name: "logits", Type: Float, Dims: []int64{-1, int64(labels)}, DimNames: []string{"batch"}}},
	}
}

// poolAndClassify ends an encoder graph: the mean of hidden states x over
// the positions the mask "m3" ([B,T,1]) keeps, then logits = mean·w + b.
// It expects the initializers w, b, axis1 and one, and "m" ([B,T]).
func poolAndClassify(x string) []Node {
	return []Node{
		{Op: "Mul", Inputs: []string{x, "m3"}, Outputs: []string{"xm"}},
		{Op: "ReduceSum", Inputs: []string{"xm", "axis1"}, Outputs: []string{"pooled_sum"}, Attrs: []Attr{{Name: "keepdims", Int: Int(0)}}},
		{Op: "ReduceSum", Inputs: []string{"m", "axis1"}, Outputs: []string{"n"}, Attrs: []Attr{{Name: "keepdims", Int: Int(1)}}},
		{Op: "Max", Inputs: []string{"n", "one"}, Outputs: []string{"n1"}},
		{Op: "Div", Inputs: []string{"pooled_sum", "n1"}, Outputs: []string{"mean"}},
		{Op: "MatMul", Inputs: []string{"mean", "w"}, Outputs: []string{"z"}},
		{Op: "Add", Inputs: []string{"z", "b"}, Outputs: []string{"logits"}},
	}
}

// rng is a small deterministic generator (splitmix64), so generated models
// are the same bytes on every machine.
type rng struct{ s uint64 }

func newRand(seed uint64) *rng { return &rng{s: seed} }

// floats draws n weights uniform in [-scale/2, scale/2).
func (r *rng) floats(n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = (r.float() - 0.5) * scale
	}
	return x
}

func (r *rng) float() float32 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float32(z>>40) / float32(1<<24)
}
