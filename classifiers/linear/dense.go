package linear

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/internal/textnorm"
)

// Dense is an embedding head that a linear model can carry and blend into
// its probabilities: a deep averaging network (Iyyer et al., 2015) over
// pretrained word vectors. Hashed n-grams only know the words they were
// trained on; word vectors also place an unseen insult next to the ones the
// data had, which is where the linear model alone stops generalising.
//
// A text's tokens (DenseTokens) are looked up in Emb; their mean and
// element-wise maximum (and, with Adjacent, the mean product of adjacent
// vectors, a little word order) go through one ReLU layer to a logit per
// class. Class c's probability is then
// (1-Blend[c])·linear + Blend[c]·sigmoid(logit), per window for long texts.
// It is trained outside Go (models/neural/train_dan.py) and attached by
// `make models`, whose calibration picks each class's Blend on the dev part
// before its threshold.
type Dense struct {
	Classes  []string // must equal the model's labels, in order
	Vocab    []string // the token of each row of Emb; row 0 is the unknown token
	Dim      int
	Hidden   int
	Adjacent bool
	Emb      []int8    // len(Vocab) × Dim, one scale per row
	Scale    []float32 // len(Vocab)
	W1       []float32 // inputs()·Dim × Hidden, input-major
	B1       []float32 // Hidden
	W2       []float32 // Hidden × len(Classes)
	B2       []float32 // len(Classes)
	Blend    []float32 // per class, each in [0, 1]; 0 leaves the class linear

	index map[string]int32
}

// denseMagic opens a dense head's bytes: the section inside a model file,
// and the file models/neural/train_dan.py writes.
const denseMagic = "SIEVEDNS"

type denseHeader struct {
	Classes  []string  `json:"classes"`
	Dim      int       `json:"dim"`
	Hidden   int       `json:"hidden"`
	Adjacent bool      `json:"adjacent,omitempty"`
	Vocab    int       `json:"vocab"`
	Blend    []float32 `json:"blend"`
}

// Bounds on what a head's header may ask for, so that a corrupt file
// cannot ask for absurd allocations.
const (
	maxDenseDim    = 1024
	maxDenseHidden = 4096
	maxDenseVocab  = 1 << 21
)

// contractions are the clitics split off a word, as GloVe's tokenizer
// does: "don't" is "do" and "n't", both in its vocabulary.
var contractions = []string{"n't", "'m", "'s", "'re", "'ll", "'ve", "'d"}

// DenseTokens are the tokens a dense head reads for text: the linear
// model's words of the normalised text, curly apostrophes straightened and
// contractions split. The training script reads these from `go run
// ./models/build -dense-data`, so both sides tokenise alike.
func DenseTokens(text string) []string {
	var out []string
	for _, w := range splitWords(textnorm.Normalize(text), nil) {
		out = appendDenseTokens(out, w)
	}
	return out
}

func appendDenseTokens(dst []string, w string) []string {
	if strings.Contains(w, "\u2019") {
		w = strings.ReplaceAll(w, "\u2019", "'")
	}
	for _, c := range contractions {
		if len(w) > len(c) && strings.HasSuffix(w, c) {
			return append(dst, w[:len(w)-len(c)], c)
		}
	}
	return append(dst, w)
}

// EncodeDense returns the head's bytes.
func (d *Dense) Encode() []byte {
	var b bytes.Buffer
	b.WriteString(denseMagic)
	hb, _ := json.Marshal(denseHeader{Classes: d.Classes, Dim: d.Dim, Hidden: d.Hidden, Adjacent: d.Adjacent, Vocab: len(d.Vocab), Blend: d.Blend})
	binary.Write(&b, binary.LittleEndian, uint32(len(hb)))
	b.Write(hb)
	words := strings.Join(d.Vocab, "\n")
	binary.Write(&b, binary.LittleEndian, uint32(len(words)))
	b.WriteString(words)
	binary.Write(&b, binary.LittleEndian, d.Emb)
	for _, xs := range [][]float32{d.Scale, d.W1, d.B1, d.W2, d.B2} {
		binary.Write(&b, binary.LittleEndian, xs)
	}
	return b.Bytes()
}

// DecodeDense parses a dense head's bytes. Errors wrap ErrCorrupt.
func DecodeDense(b []byte) (*Dense, error) {
	return readDense(bytes.NewReader(b), true)
}

// readDense reads a head from r; whole says r must hold nothing after it.
func readDense(r *bytes.Reader, whole bool) (*Dense, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: dense head: %s", ErrCorrupt, fmt.Sprintf(format, a...))
	}
	mg := make([]byte, len(denseMagic))
	if _, err := io.ReadFull(r, mg); err != nil || string(mg) != denseMagic {
		return nil, bad("bad magic")
	}
	var hlen uint32
	if err := binary.Read(r, binary.LittleEndian, &hlen); err != nil || hlen > maxHeader || int(hlen) > r.Len() {
		return nil, bad("truncated header")
	}
	hb := make([]byte, hlen)
	io.ReadFull(r, hb)
	var h denseHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, bad("header: %v", err)
	}
	k := len(h.Classes)
	if k == 0 || k > 1024 || h.Dim < 1 || h.Dim > maxDenseDim || h.Hidden < 1 || h.Hidden > maxDenseHidden ||
		h.Vocab < 1 || h.Vocab > maxDenseVocab {
		return nil, bad("%d classes, dim %d, hidden %d, vocabulary %d", k, h.Dim, h.Hidden, h.Vocab)
	}
	if len(h.Blend) != k {
		return nil, bad("%d blend weights for %d classes", len(h.Blend), k)
	}
	for _, b := range h.Blend {
		if !(b >= 0 && b <= 1) {
			return nil, bad("blend %v is not in [0, 1]", b)
		}
	}
	var wlen uint32
	if err := binary.Read(r, binary.LittleEndian, &wlen); err != nil || int(wlen) > r.Len() {
		return nil, bad("truncated vocabulary")
	}
	wb := make([]byte, wlen)
	io.ReadFull(r, wb)
	vocab := strings.Split(string(wb), "\n")
	if len(vocab) != h.Vocab {
		return nil, bad("%d words, the header says %d", len(vocab), h.Vocab)
	}
	inputs := 2
	if h.Adjacent {
		inputs = 3
	}
	floats := h.Vocab + inputs*h.Dim*h.Hidden + h.Hidden + h.Hidden*k + k
	want := h.Vocab*h.Dim + 4*floats
	if r.Len() < want || (whole && r.Len() != want) {
		return nil, bad("%d bytes of weights, want %d", r.Len(), want)
	}
	d := &Dense{Classes: h.Classes, Vocab: vocab, Dim: h.Dim, Hidden: h.Hidden, Adjacent: h.Adjacent, Blend: h.Blend,
		Emb: make([]int8, h.Vocab*h.Dim), Scale: make([]float32, h.Vocab), W1: make([]float32, inputs*h.Dim*h.Hidden),
		B1: make([]float32, h.Hidden), W2: make([]float32, h.Hidden*k), B2: make([]float32, k)}
	binary.Read(r, binary.LittleEndian, d.Emb)
	for _, xs := range [][]float32{d.Scale, d.W1, d.B1, d.W2, d.B2} {
		binary.Read(r, binary.LittleEndian, xs)
		for _, x := range xs {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, bad("a non-finite weight")
			}
		}
	}
	d.index = make(map[string]int32, len(vocab))
	for i, w := range vocab {
		if _, dup := d.index[w]; !dup {
			d.index[w] = int32(i)
		}
	}
	return d, nil
}

// denseScratch is one scoring's working memory.
type denseScratch struct {
	ids    []int32 // the text's token rows
	ends   []int   // ends[i]: where word i's tokens end in ids
	vec    []float32
	pooled []float32 // mean | max | adjacent product
	hidden []float32
	z      []float32
}

// tokenize fills s.ids and s.ends from the linear model's words.
func (d *Dense) tokenize(words []string, s *denseScratch) {
	s.ids, s.ends = s.ids[:0], s.ends[:0]
	var toks [2]string
	for _, w := range words {
		for _, t := range appendDenseTokens(toks[:0], w) {
			s.ids = append(s.ids, d.index[t]) // 0, the unknown row, when absent
		}
		s.ends = append(s.ends, len(s.ids))
	}
}

// blend mixes the head's probabilities for the tokens ids into p, the
// linear ones: p[c] = (1-Blend[c])·p[c] + Blend[c]·sigmoid(logit[c]). A
// text without tokens keeps the linear probabilities.
func (d *Dense) blend(ids []int32, p []float32, s *denseScratch) {
	if len(ids) == 0 {
		return
	}
	if cap(s.z) < len(d.Classes) {
		s.z = make([]float32, len(d.Classes))
	}
	z := s.z[:len(d.Classes)]
	d.logits(ids, z, s)
	for c, b := range d.Blend {
		if b > 0 {
			p[c] = (1-b)*p[c] + b*sigmoid(z[c])
		}
	}
}

// logits fills z with the head's logit per class for the tokens ids (at
// least one).
func (d *Dense) logits(ids []int32, z []float32, s *denseScratch) {
	dim, k := d.Dim, len(d.Classes)
	if cap(s.pooled) < 3*dim {
		s.pooled, s.vec = make([]float32, 3*dim), make([]float32, 2*dim)
	}
	if cap(s.hidden) < d.Hidden {
		s.hidden = make([]float32, d.Hidden)
	}
	inputs := 2
	if d.Adjacent {
		inputs = 3
	}
	pooled, hidden := s.pooled[:inputs*dim], s.hidden[:d.Hidden]
	mean, mx := pooled[:dim], pooled[dim:2*dim]
	clear(mean)
	for j := range mx {
		mx[j] = float32(math.Inf(-1))
	}
	var adj, cur, prev []float32
	if d.Adjacent {
		adj, cur, prev = pooled[2*dim:3*dim], s.vec[:dim], s.vec[dim:2*dim]
		clear(adj)
	}
	for t, id := range ids {
		row, sc := d.Emb[int(id)*dim:int(id+1)*dim], d.Scale[id]
		row, mean, mx = row[:dim], mean[:dim], mx[:dim]
		for j, q := range row {
			v := float32(q) * sc
			mean[j] += v
			mx[j] = max(mx[j], v)
		}
		if d.Adjacent {
			for j, q := range row {
				cur[j] = float32(q) * sc
				if t > 0 {
					adj[j] += cur[j] * prev[j]
				}
			}
			cur, prev = prev, cur
		}
	}
	inv := 1 / float32(len(ids))
	for j := range mean {
		mean[j] *= inv
	}
	for j := range adj {
		adj[j] *= inv
	}
	copy(hidden, d.B1)
	// The layer is most of the head's time: four inputs at a time, so each
	// hidden unit is loaded and stored once per four.
	hn := len(hidden)
	i := 0
	for ; i+4 <= len(pooled); i += 4 {
		x0, x1, x2, x3 := pooled[i], pooled[i+1], pooled[i+2], pooled[i+3]
		w0 := d.W1[i*hn : (i+1)*hn]
		w1 := d.W1[(i+1)*hn : (i+2)*hn]
		w2 := d.W1[(i+2)*hn : (i+3)*hn]
		w3 := d.W1[(i+3)*hn : (i+4)*hn]
		w0, w1, w2, w3 = w0[:hn], w1[:hn], w2[:hn], w3[:hn]
		for h := range hidden {
			hidden[h] += x0*w0[h] + x1*w1[h] + x2*w2[h] + x3*w3[h]
		}
	}
	for ; i < len(pooled); i++ {
		x, w := pooled[i], d.W1[i*hn:(i+1)*hn]
		w = w[:hn]
		for h := range hidden {
			hidden[h] += x * w[h]
		}
	}
	copy(z, d.B2)
	for h, x := range hidden {
		if x > 0 { // ReLU
			w := d.W2[h*k : (h+1)*k]
			for c := range z {
				z[c] += x * w[c]
			}
		}
	}
}

// SetDense attaches a dense head to the model, which then blends it into
// every probability; the thresholds need calibrating again after. The model
// keeps its own blend weights, so calibrating it leaves d as it was (d may
// be another model's head, as `make models` reuses the committed one's).
func (m *Model) SetDense(d *Dense) error {
	if !slices.Equal(d.Classes, m.Classes) {
		return fmt.Errorf("dense head: classes %v, the model has %v", d.Classes, m.Classes)
	}
	if m.Kind == classifiers.MultiClass {
		return fmt.Errorf("dense head: only for binary and multi-label models")
	}
	own := *d
	own.Blend = slices.Clone(d.Blend)
	m.Dense = &own
	m.pool = sync.Pool{}
	return nil
}

// Probs are the head's own probabilities for tokens (DenseTokens), before
// any blending: for checking the head against its training script.
func (d *Dense) Probs(tokens []string) []float32 {
	var s denseScratch
	for _, t := range tokens {
		s.ids = append(s.ids, d.index[t])
	}
	p := make([]float32, len(d.Classes))
	if len(s.ids) > 0 {
		d.logits(s.ids, p, &s)
	}
	for c, z := range p {
		p[c] = sigmoid(z)
	}
	return p
}
