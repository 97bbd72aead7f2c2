package linear

import (
	"context"

	"github.com/sieve-stream/sieve/classifiers"
)

// Calibrate sets each label's threshold from dev data: the one maximising
// F1, or the lowest reaching targetPrecision when that is above zero.
func (m *Model) Calibrate(dev []classifiers.Example, targetPrecision float64) error {
	if len(dev) == 0 {
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
