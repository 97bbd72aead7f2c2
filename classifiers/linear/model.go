package linear

import (
	"context"
	"math"
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
	for i, t := range texts {
		row := flat[i*nl : (i+1)*nl : (i+1)*nl]
		m.probsOf(t, normalized, s)
		copy(row, s.p[:nl])
		out[i] = row
	}
	return out, nil
}

type scratch struct {
	f     features
	logit []float32
	p     []float32
	acc   []int64
}

func (m *Model) scratch() *scratch {
	if s, ok := m.pool.Get().(*scratch); ok {
		return s
	}
	k := len(m.Classes)
	return &scratch{logit: make([]float32, k), p: make([]float32, k), acc: make([]int64, k)}
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
