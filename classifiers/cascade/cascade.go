// Package cascade chains classifiers for the same labels, cheapest first:
// a text goes on to the next, costlier model only while its scores fall in
// an uncertainty band, so an encoder sees only what the linear model is
// unsure of. The verdict names the model that decided.
package cascade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/sieve-stream/sieve/classifiers"
)

// Band is the uncertain range [Low, High) of a label's score: a score in it
// sends the text on to the next step.
type Band struct {
	Low  float64 `yaml:"low"`  // scores at or below it are sure negatives
	High float64 `yaml:"high"` // scores at or above it are sure positives
}

// Step is one model of the chain. Bands are per label; labels without one
// use Default.
type Step struct {
	Classifier classifiers.Classifier
	Default    Band
	Bands      map[string]Band
}

// Cascade implements classifiers.Classifier and classifiers.Attributed.
type Cascade struct {
	steps   []Step
	labels  []string
	cols    [][]int // per step: the column of each cascade label in its scores
	desc    classifiers.Description
	reached []atomic.Int64 // texts that reached each step
}

// Close closes the steps that hold resources, last first.
func (c *Cascade) Close() error {
	var errs []error
	for i := len(c.steps) - 1; i >= 0; i-- {
		if cl, ok := c.steps[i].Classifier.(io.Closer); ok {
			errs = append(errs, cl.Close())
		}
	}
	return errors.Join(errs...)
}

// New builds a cascade. Its labels are those of the last step, the
// authority; every earlier step must score them too (it may score more,
// which the cascade drops).
func New(steps ...Step) (*Cascade, error) {
	if len(steps) < 2 {
		return nil, errors.New("cascade: needs at least two steps")
	}
	lastLabels := steps[len(steps)-1].Classifier.Describe().Labels
	c := &Cascade{steps: steps, labels: lastLabels, reached: make([]atomic.Int64, len(steps))}
	var ids []string
	for i, st := range steps {
		d := st.Classifier.Describe()
		ids = append(ids, d.ID())
		col := make([]int, len(c.labels))
		for j, l := range c.labels {
			col[j] = -1
			for k, m := range d.Labels {
				if m == l {
					col[j] = k
				}
			}
			if col[j] < 0 {
				return nil, fmt.Errorf("cascade: step %d (%s) does not score label %q", i, d.ID(), l)
			}
		}
		c.cols = append(c.cols, col)
		if i < len(steps)-1 {
			for l, b := range st.Bands {
				if b.Low < 0 || b.High > 1 || b.Low >= b.High {
					return nil, fmt.Errorf("cascade: step %d band for %s: [%v, %v) is not a range in [0, 1]", i, l, b.Low, b.High)
				}
			}
		}
	}
	last := steps[len(steps)-1].Classifier.Describe()
	c.desc = classifiers.Description{Name: "cascade(" + strings.Join(ids, "→") + ")", Version: classifiers.ContentVersion([]byte(strings.Join(ids, ";"))),
		Kind: last.Kind, Labels: c.labels, Thresholds: last.Thresholds}
	return c, nil
}

// Describe implements classifiers.Classifier.
func (c *Cascade) Describe() classifiers.Description { return c.desc }

// Classify implements classifiers.Classifier.
func (c *Cascade) Classify(ctx context.Context, texts []string) ([][]float32, error) {
	s, _, err := c.ClassifyAttributed(ctx, texts)
	return s, err
}

// ClassifyAttributed implements classifiers.Attributed: scores, and for
// each text the id of the model whose scores it got.
func (c *Cascade) ClassifyAttributed(ctx context.Context, texts []string) ([][]float32, []string, error) {
	out := make([][]float32, len(texts))
	by := make([]string, len(texts))
	pending := make([]int, len(texts))
	for i := range pending {
		pending[i] = i
	}
	for si, st := range c.steps {
		if len(pending) == 0 {
			break
		}
		c.reached[si].Add(int64(len(pending)))
		batch := make([]string, len(pending))
		for k, i := range pending {
			batch[k] = texts[i]
		}
		scores, err := st.Classifier.Classify(ctx, batch)
		if err != nil {
			return nil, nil, fmt.Errorf("cascade step %d: %w", si, err)
		}
		id := st.Classifier.Describe().ID()
		var next []int
		for k, i := range pending {
			row := make([]float32, len(c.labels))
			for j, col := range c.cols[si] {
				row[j] = scores[k][col]
			}
			out[i], by[i] = row, id
			if si < len(c.steps)-1 && c.uncertain(st, row) {
				next = append(next, i)
			}
		}
		pending = next
	}
	return out, by, nil
}

func (c *Cascade) uncertain(st Step, row []float32) bool {
	for j, l := range c.labels {
		b, ok := st.Bands[l]
		if !ok {
			b = st.Default
		}
		if s := float64(row[j]); s >= b.Low && s < b.High {
			return true
		}
	}
	return false
}

// Reached returns how many texts reached each step since the start.
func (c *Cascade) Reached() []int64 {
	out := make([]int64, len(c.reached))
	for i := range out {
		out[i] = c.reached[i].Load()
	}
	return out
}
