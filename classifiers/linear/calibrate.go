package linear

import (
	"context"
	"fmt"
	"math"
	"slices"

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
	if m.Dense != nil {
		return m.calibrateBlend(dev, targetPrecision)
	}
	_, err := m.calibrateThresholds(dev, targetPrecision)
	return err
}

// blends are the dense head's weights calibrateBlend tries.
var blends = []float32{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7}

// minBlendSupport is the fewest dev rows of a label that choose its blend
// weight; a rarer label keeps its linear score (blend 0). A head trained on
// a few dozen rows of a label generalises from them in ways a few dev rows
// cannot check: an earlier moderation head scored gardening prose as graphic
// violence, from a label with 17 dev rows.
const minBlendSupport = 50

// blendSlack is how much dev F1 a smaller blend weight may give up and
// still be chosen: the head's gain must be clear to be taken, as the
// one-standard-error rule prefers the simpler model.
const blendSlack = 0.01

// calibrateBlend picks each label's blend weight for the dense head. A
// weight is admissible when the dev part's benign rows (those with no
// label) it flags for the label are no more than the n-gram score alone
// flags, give or take noise (benignSlack): word vectors carry a word's other
// senses into a label, and a head that raises a label's dev F1 can still
// flag ordinary text for it (at its best dev weight the head read gardening
// prose, "climbed over the fence into the neighbour's yard", as violence,
// and the dev part's benign rows flagged for violence went from 19 to 29).
// Of the admissible weights, the smallest whose dev F1, at its own
// calibrated threshold, is within blendSlack of their best. The training
// script picks a weight too, but it reads whole texts where the model reads
// windows: only here is the weight measured as it is used.
func (m *Model) calibrateBlend(dev []classifiers.Example, targetPrecision float64) error {
	labels := m.Labels()
	f1 := make([][]float64, len(blends))  // by weight, then label; -1: too few rows
	flagged := make([][]int, len(blends)) // benign dev rows flagged, by weight, then label
	for i, w := range blends {
		for c := range m.Dense.Blend {
			m.Dense.Blend[c] = w
		}
		scores, err := m.calibrateThresholds(dev, targetPrecision)
		if err != nil {
			return err
		}
		rep, err := classifiers.Evaluate(context.Background(), []classifiers.Classifier{m}, dev, nil, 512)
		if err != nil {
			return err
		}
		f1[i], flagged[i] = make([]float64, len(labels)), make([]int, len(labels))
		for c, l := range labels {
			f1[i][c] = -1
			if f, ok := rep.Labels[l]; ok && f.Support >= minBlendSupport {
				f1[i][c] = f.F1
			}
			for r, row := range scores {
				if len(dev[r].Labels) == 0 && float64(row[c]) >= m.Thresholds[l] {
					flagged[i][c]++
				}
			}
		}
	}
	for c := range labels {
		ceiling := flagged[0][c] + benignSlack(flagged[0][c]) // blends[0] is 0: the n-grams alone
		admissible := func(i int) bool { return f1[i][c] >= 0 && flagged[i][c] <= ceiling }
		best := -1.0
		for i := range blends {
			if admissible(i) {
				best = max(best, f1[i][c])
			}
		}
		m.Dense.Blend[c] = 0
		for i, w := range blends {
			if admissible(i) && f1[i][c] >= best-blendSlack {
				m.Dense.Blend[c] = w
				break
			}
		}
	}
	_, err := m.calibrateThresholds(dev, targetPrecision)
	return err
}

// benignSlack is the noise allowed on n benign rows flagged: a tenth, and
// at least two rows.
func benignSlack(n int) int { return max(2, n/10) }

// calibrateThresholds sets each label's threshold from dev data (see
// Calibrate) and returns the dev rows' scores it read.
func (m *Model) calibrateThresholds(dev []classifiers.Example, targetPrecision float64) ([][]float32, error) {
	texts := make([]string, len(dev))
	for i, e := range dev {
		texts[i] = e.Text
	}
	scores, err := m.Classify(context.Background(), texts)
	if err != nil {
		return nil, err
	}
	for j, l := range m.Labels() {
		s := make([]float32, 0, len(dev))
		truth := make([]bool, 0, len(dev))
		for i, e := range dev {
			t := slices.Contains(e.Labels, l)
			// A row whose source never annotated l says nothing about
			// it: counting it as a negative would push the threshold up
			// for every label a partial source leaves out.
			if !t && slices.Contains(e.Unknown, l) {
				continue
			}
			s = append(s, scores[i][j])
			truth = append(truth, t)
		}
		m.Thresholds[l] = classifiers.Threshold(s, truth, targetPrecision)
	}
	return scores, nil
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
