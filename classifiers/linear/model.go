package linear

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/sieve-stream/sieve/classifiers"
)

// noneClass is the implicit class of a multi-class model trained on rows
// without a label (benign); it is scored but never reported as a label.
const noneClass = "(none)"

// Model is a trained linear classifier. It implements classifiers.Classifier.
// Weights are int16 with one scale per class: a quarter of float64's size
// and no measurable loss in scores.
type Model struct {
	Name       string
	Kind       classifiers.Kind
	Classes    []string // labels, then noneClass for multi-class models trained with benign rows
	Thresholds map[string]float64
	Dims       uint32
	Weights    []int16 // Dims × len(Classes), feature-major
	Scales     []float32
	Bias       []float32
	Meta       map[string]string // free-form provenance: data, seed, epochs
	// Categories and AbstainBelow: see classifiers.Description. Only a
	// multi-class model can be one; its benign class, if it has one, is
	// the background that makes a text's category Other.
	Categories   bool
	AbstainBelow float64
	// Window and Stride, in words, score a text longer than Window words
	// as overlapping windows, each label taking its highest probability
	// over them: one threat in a long post is not diluted away by the rest,
	// and a reply scores the same whole as it does in the proxy's streamed
	// windows. Zero means DefaultWindow and half of it; a negative Window
	// scores the whole text at once. Categories models always read the
	// whole text: a review's department is a property of all of it.
	Window, Stride int
	// Parents, Context and LongWindow: see TrainOptions.
	Parents    map[string]string
	Context    bool
	LongWindow int
	// Dense, when set, is an embedding head blended into the
	// probabilities (see Dense). Attribution reads the linear weights
	// alone.
	Dense *Dense

	version string
	pool    sync.Pool
}

// Labels are the classes the model reports.
func (m *Model) Labels() []string {
	if n := len(m.Classes); n > 0 && m.Classes[n-1] == noneClass {
		return m.Classes[:n-1]
	}
	return m.Classes
}

// Describe implements classifiers.Classifier.
func (m *Model) Describe() classifiers.Description {
	d := classifiers.Description{Name: m.Name, Version: m.version, Kind: m.Kind, Labels: m.Labels(), Thresholds: m.Thresholds,
		Categories: m.Categories, AbstainBelow: m.AbstainBelow}
	if m.Categories {
		d.Thresholds = map[string]float64{}
	}
	return d
}

// Classify implements classifiers.Classifier.
func (m *Model) Classify(ctx context.Context, texts []string) ([][]float32, error) {
	return m.classify(texts, false)
}

// ClassifyNormalized implements classifiers.Normalized: texts are already
// through textnorm.Normalize, so a stage running several models normalises
// each text once.
func (m *Model) ClassifyNormalized(_ context.Context, texts []string) ([][]float32, error) {
	return m.classify(texts, true)
}

func (m *Model) classify(texts []string, normalized bool) ([][]float32, error) {
	nl := len(m.Labels())
	flat := make([]float32, len(texts)*nl)
	out := make([][]float32, len(texts))
	s := m.scratch()
	defer m.pool.Put(s)
	parents := m.parentIndex()
	for i, t := range texts {
		row := flat[i*nl : (i+1)*nl : (i+1)*nl]
		m.probsOf(t, normalized, s)
		copy(row, s.p[:nl])
		for _, cp := range parents {
			row[cp[1]] = max(row[cp[1]], row[cp[0]])
		}
		out[i] = row
	}
	return out, nil
}

// parentIndex lists (child, parent) class indexes, deepest first, so that
// a grandchild's score reaches its grandparent.
func (m *Model) parentIndex() [][2]int {
	if len(m.Parents) == 0 {
		return nil
	}
	depth := func(l string) int {
		d := 0
		for p, ok := m.Parents[l]; ok && d < len(m.Classes); p, ok = m.Parents[p] {
			d++
		}
		return d
	}
	var out [][2]int
	for child, parent := range m.Parents {
		c, p := slices.Index(m.Classes, child), slices.Index(m.Classes, parent)
		if c >= 0 && p >= 0 {
			out = append(out, [2]int{c, p})
		}
	}
	slices.SortFunc(out, func(a, b [2]int) int {
		if d := depth(m.Classes[b[0]]) - depth(m.Classes[a[0]]); d != 0 {
			return d
		}
		return a[0] - b[0]
	})
	return out
}

type scratch struct {
	f     features
	logit []float32
	p     []float32
	acc   []int64
	best  []float32
	// prefix and bigram are windowProbs' running sums, words+1 rows of k.
	prefix, bigram []int64
	dense          denseScratch
}

func (m *Model) scratch() *scratch {
	if s, ok := m.pool.Get().(*scratch); ok {
		return s
	}
	k := len(m.Classes)
	return &scratch{f: features{context: m.Context}, logit: make([]float32, k), p: make([]float32, k), acc: make([]int64, k)}
}

// probs fills s.p with every class's probability for text.
func (m *Model) probs(text string, s *scratch) { m.probsOf(text, false, s) }

func (m *Model) probsOf(text string, normalized bool, s *scratch) {
	k := len(m.Classes)
	var v float32
	if normalized {
		v = s.f.featurizeNormalized(text, m.Dims)
	} else {
		v = s.f.featurize(text, m.Dims)
	}
	if m.Dense != nil {
		m.Dense.tokenize(s.f.words, &s.dense)
	}
	if window, stride := m.window(len(s.f.words)); window > 0 && len(s.f.words) > window {
		m.windowProbs(window, stride, s)
		return
	}
	for c := range s.acc {
		s.acc[c] = 0
	}
	for _, idx := range s.f.idx {
		w := m.Weights[int(idx)*k : int(idx)*k+k]
		for c := range w {
			s.acc[c] += int64(w[c])
		}
	}
	for c := range k {
		s.logit[c] = m.Bias[c] + float32(s.acc[c])*m.Scales[c]*v
	}
	activate(m.Kind, s.logit, s.p)
	if m.Dense != nil {
		m.Dense.blend(s.dense.ids, s.p, &s.dense)
	}
}

// DefaultWindow is a linear model's window in words: longer than nearly
// every social post, short enough that one abusive sentence dominates it.
const DefaultWindow = 32

// LongText is the length in words past which a model's LongWindow applies.
const LongText = 128

func (m *Model) window(words int) (window, stride int) {
	if m.Categories || m.Window < 0 {
		return 0, 0
	}
	window, stride = m.Window, m.Stride
	if window == 0 {
		window = DefaultWindow
		// A long text (a post of pages, a long reply) is read in the
		// model's LongWindow, when it has one: one abusive sentence among
		// hundreds of ordinary ones then carries its window, where among
		// 31 neighbours it can be diluted away. Posts of ordinary length
		// keep the window their thresholds were calibrated on.
		if words > LongText && m.LongWindow > 0 {
			window = m.LongWindow
		}
	}
	if stride <= 0 || stride > window {
		stride = max(1, window/2)
	}
	return window, stride
}

// windowProbs fills s.p with each class's highest probability over the
// windows of the featurized text; the last window ends at the last word.
func (m *Model) windowProbs(window, stride int, s *scratch) {
	k := len(m.Classes)
	words := len(s.f.words)
	if cap(s.best) < k {
		s.best = make([]float32, k)
	}
	best := s.best[:k]
	for c := range best {
		best[c] = -1
	}
	// Each feature is added once: prefix holds the running sums of the
	// words' weights, bigram each word's bigram with the word before it (the
	// one feature a window starting at that word leaves out), so a window is
	// a difference of two prefixes however much the windows overlap.
	need := (words + 1) * k
	if cap(s.prefix) < need {
		s.prefix = make([]int64, need)
		s.bigram = make([]int64, need)
	}
	prefix, bigram := s.prefix[:need], s.bigram[:need]
	clear(prefix[:k])
	from := 0
	for i := range words {
		row := prefix[(i+1)*k : (i+2)*k]
		copy(row, prefix[i*k:(i+1)*k])
		bg := bigram[i*k : (i+1)*k]
		clear(bg)
		if i > 0 {
			m.accumulate(s.f.idx[from+1:from+2], bg)
		}
		m.accumulate(s.f.idx[from:s.f.ends[i]], row)
		from = s.f.ends[i]
	}
	for start := 0; ; start += stride {
		if start+window > words {
			start = words - window
		}
		end := start + window
		n := s.f.ends[end-1]
		for c := range k {
			s.acc[c] = prefix[end*k+c] - prefix[start*k+c]
		}
		if start > 0 {
			n -= s.f.ends[start-1] + 1
			for c := range k {
				s.acc[c] -= bigram[start*k+c]
			}
		}
		v := float32(1 / math.Sqrt(float64(max(n, 1))))
		for c := range k {
			s.logit[c] = m.Bias[c] + float32(s.acc[c])*m.Scales[c]*v
		}
		activate(m.Kind, s.logit, s.p)
		if m.Dense != nil {
			from := 0
			if start > 0 {
				from = s.dense.ends[start-1]
			}
			m.Dense.blend(s.dense.ids[from:s.dense.ends[end-1]], s.p, &s.dense)
		}
		for c := range k {
			best[c] = max(best[c], s.p[c])
		}
		if start+window >= words {
			break
		}
	}
	copy(s.p, best)
}

// accumulate adds the weights of features idx to acc, class by class.
func (m *Model) accumulate(idx []uint32, acc []int64) {
	k := len(m.Classes)
	for _, i := range idx {
		w := m.Weights[int(i)*k : int(i)*k+k]
		for c := range w {
			acc[c] += int64(w[c])
		}
	}
}

func activate(kind classifiers.Kind, logit, p []float32) {
	if kind != classifiers.MultiClass {
		for c, z := range logit {
			p[c] = sigmoid(z)
		}
		return
	}
	mx := logit[0]
	for _, z := range logit[1:] {
		mx = max(mx, z)
	}
	var sum float32
	for c, z := range logit {
		p[c] = float32(math.Exp(float64(z - mx)))
		sum += p[c]
	}
	for c := range p {
		p[c] /= sum
	}
}

func sigmoid(z float32) float32 { return float32(1 / (1 + math.Exp(-float64(z)))) }

// Predict returns the index of the most probable class (multi-class) for
// text, and the class probabilities.
func (m *Model) Predict(text string) (int, []float32) {
	s := m.scratch()
	defer m.pool.Put(s)
	m.probs(text, s)
	best := 0
	for c, p := range s.p {
		if p > s.p[best] {
			best = c
		}
	}
	return best, append([]float32(nil), s.p...)
}

// Attribution is how much word alone pushes the model towards label: the
// sum of its features' weights for label, less those for the benign class
// when the model has one. The embedded rewriter removes the words with the
// largest attributions first.
func (m *Model) Attribution(word, label string) float64 {
	li, none := -1, -1
	for c, cl := range m.Classes {
		switch cl {
		case label:
			li = c
		case noneClass:
			none = c
		}
	}
	if li < 0 {
		return 0
	}
	s := m.scratch()
	defer m.pool.Put(s)
	v := s.f.featurize(word, m.Dims)
	k := len(m.Classes)
	var sum float64
	for _, idx := range s.f.idx {
		w := m.Weights[int(idx)*k : int(idx)*k+k]
		a := float64(w[li]) * float64(m.Scales[li])
		if none >= 0 {
			a -= float64(w[none]) * float64(m.Scales[none])
		}
		sum += a
	}
	return sum * float64(v)
}

// WithWindow returns the model scoring long texts over windows of window
// words every stride words (see Model.Window); the weights are shared. A
// non-default window is part of the version, so verdict caches keep the
// scores of different windows apart.
func (m *Model) WithWindow(window, stride int) *Model {
	c := &Model{Name: m.Name, Kind: m.Kind, Classes: m.Classes, Thresholds: m.Thresholds, Dims: m.Dims,
		Weights: m.Weights, Scales: m.Scales, Bias: m.Bias, Meta: m.Meta, Categories: m.Categories,
		AbstainBelow: m.AbstainBelow, Window: window, Stride: stride, Parents: m.Parents,
		Context: m.Context, LongWindow: m.LongWindow, Dense: m.Dense, version: m.version}
	if w, s := c.window(0); window != 0 && (w != DefaultWindow || s != DefaultWindow/2) {
		c.version = fmt.Sprintf("%s+w%ds%d", m.version, w, s)
	}
	return c
}
