package linear

import (
	"context"
	"fmt"
	"math"

	"github.com/sieve-stream/sieve/classifiers"
)

// Calibrate sets each label's threshold from dev data: the one maximising
// F1, or the lowest reaching targetPrecision when that is above zero.
func (m *Model) Calibrate(dev []classifiers.Example, targetPrecision float64) error {
	if len(dev) == 0 {
		return nil
	}
	// A categories model's answer is its most probable class; what needs
	// calibrating is how sure it says it is, which the abstention floor
	// reads.
	if m.Categories {
		m.fitTemperature(dev)
		return nil
	}
	// Exhaustive classes (multi-class without a benign class): the most
	// probable class is the answer, and 1/k is where it starts winning.
	if m.Kind == classifiers.MultiClass && len(m.Labels()) == len(m.Classes) {
		return nil
	}
	texts := make([]string, len(dev))
	for i, e := range dev {
		texts[i] = e.Text
	}
	scores, err := m.Classify(context.Background(), texts)
	if err != nil {
		return err
	}
	for j, l := range m.Labels() {
		s := make([]float32, len(dev))
		truth := make([]bool, len(dev))
		for i, e := range dev {
			s[i] = scores[i][j]
			for _, x := range e.Labels {
				truth[i] = truth[i] || x == l
			}
		}
		m.Thresholds[l] = classifiers.Threshold(s, truth, targetPrecision)
	}
	return nil
}

// fitTemperature rescales the logits by the 1/T that minimises the
// negative log-likelihood of dev (temperature scaling, Guo et al. 2017):
// softmax trained to convergence is over-confident, and the abstention floor
// is only meaningful on calibrated probabilities. Scaling bias and scales
// keeps the file format and leaves the most probable class unchanged.
func (m *Model) fitTemperature(dev []classifiers.Example) {
	index := map[string]int{}
	for i, c := range m.Classes {
		index[c] = i
	}
	type row struct {
		logit []float32
		y     int
	}
	var rows []row
	s := m.scratch()
	none, hasNone := index[noneClass]
	for _, e := range dev {
		y, known := -1, 0
		for _, l := range e.Labels {
			if j, ok := index[l]; ok {
				y = j
				known++
			}
		}
		switch {
		case known == 0 && hasNone:
			y = none // a background row
		case known != 1:
			continue
		}
		m.probs(e.Text, s)
		rows = append(rows, row{append([]float32(nil), s.logit...), y})
	}
	m.pool.Put(s)
	if len(rows) == 0 {
		return
	}
	nll := func(inv float64) float64 {
		total := 0.0
		for _, r := range rows {
			mx := math.Inf(-1)
			for _, z := range r.logit {
				mx = math.Max(mx, float64(z)*inv)
			}
			sum := 0.0
			for _, z := range r.logit {
				sum += math.Exp(float64(z)*inv - mx)
			}
			total -= float64(r.logit[r.y])*inv - mx - math.Log(sum)
		}
		return total
	}
	// Golden-section search for 1/T in [0.05, 4] on a log scale: a dev set
	// the model separates perfectly would otherwise push T towards zero and
	// every score towards 1.
	lo, hi := math.Log(0.05), math.Log(4)
	phi := (math.Sqrt(5) - 1) / 2
	a, b := hi-phi*(hi-lo), lo+phi*(hi-lo)
	fa, fb := nll(math.Exp(a)), nll(math.Exp(b))
	for range 60 {
		if fa < fb {
			hi, b, fb = b, a, fa
			a = hi - phi*(hi-lo)
			fa = nll(math.Exp(a))
		} else {
			lo, a, fa = a, b, fb
			b = lo + phi*(hi-lo)
			fb = nll(math.Exp(b))
		}
	}
	inv := float32(math.Exp((lo + hi) / 2))
	for c := range m.Bias {
		m.Bias[c] *= inv
		m.Scales[c] *= inv
	}
	if m.Meta == nil {
		m.Meta = map[string]string{}
	}
	m.Meta["temperature"] = fmt.Sprintf("%.4f", 1/inv)
}
