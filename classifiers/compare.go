package classifiers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
)

// Comparison is two models side by side on one labelled set: what a
// candidate (trained on moderators' decisions, say) changes before it goes
// live.
type Comparison struct {
	Old, New string // the models' ids
	// Labels holds, for each label both models score, the old and new
	// precision, recall and F1.
	Labels map[string]LabelDelta `json:"labels"`
	// MacroF1 and AnyF1 are the old and new figures and their difference,
	// with a 95% bootstrap interval of the difference: an interval that
	// holds 0 means the set cannot tell the models apart.
	MacroF1 Delta `json:"macro_f1"`
	AnyF1   Delta `json:"any_f1"`
	// Changed are the texts whose flags differ between the models (at most
	// MaxChanged of them), and ChangedCount how many there are.
	Changed      []Change `json:"changed"`
	ChangedCount int      `json:"changed_count"`
}

// LabelDelta is one label under both models.
type LabelDelta struct {
	Old PRF     `json:"old"`
	New PRF     `json:"new"`
	DF1 float64 `json:"delta_f1"`
}

// Delta is a figure under both models, their difference and its 95%
// bootstrap interval.
type Delta struct {
	Old  float64    `json:"old"`
	New  float64    `json:"new"`
	Diff float64    `json:"diff"`
	CI   [2]float64 `json:"ci95"`
}

// Change is a text the two models flag differently.
type Change struct {
	ID   string   `json:"id"`
	Text string   `json:"text"`
	Old  []string `json:"old_flags"`
	New  []string `json:"new_flags"`
	Gold []string `json:"labels"`
}

// MaxChanged bounds Comparison.Changed.
const MaxChanged = 50

// Compare scores data with both models at their own thresholds. The
// bootstrap draws boot resamples of the rows (seeded, so the same inputs
// give the same interval).
func Compare(ctx context.Context, old, cand Classifier, data []Example, boot int, seed uint64) (*Comparison, error) {
	od, nd := old.Describe(), cand.Describe()
	var labels []string
	for _, l := range od.Labels {
		if slices.Contains(nd.Labels, l) {
			labels = append(labels, l)
		}
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("compare: %s and %s share no label", od.ID(), nd.ID())
	}
	sort.Strings(labels)
	oflags, err := flagsOf(ctx, old, labels, data)
	if err != nil {
		return nil, err
	}
	nflags, err := flagsOf(ctx, cand, labels, data)
	if err != nil {
		return nil, err
	}
	gold := make([][]bool, len(data))
	for i, e := range data {
		gold[i] = make([]bool, len(labels))
		for j, l := range labels {
			gold[i][j] = slices.Contains(e.Labels, l)
		}
	}
	// A resample is a multiset of rows: weights[i] counts row i.
	eval := func(flags [][]bool, weights []int) (per []counts, any counts) {
		per = make([]counts, len(labels))
		for i := range data {
			w := 1
			if weights != nil {
				w = weights[i]
			}
			if w == 0 {
				continue
			}
			f, g := false, false
			for j := range labels {
				p, t := flags[i][j], gold[i][j]
				f, g = f || p, g || t
				switch {
				case p && t:
					per[j].tp += w
				case p:
					per[j].fp += w
				case t:
					per[j].fn += w
				}
			}
			switch {
			case f && g:
				any.tp += w
			case f:
				any.fp += w
			case g:
				any.fn += w
			}
		}
		return per, any
	}
	macro := func(per []counts) float64 {
		s, n := 0.0, 0
		for _, c := range per {
			if c.tp+c.fn > 0 { // labels the set has rows for
				s += c.prf().F1
				n++
			}
		}
		if n == 0 {
			return 0
		}
		return s / float64(n)
	}
	cmp := &Comparison{Old: od.ID(), New: nd.ID(), Labels: map[string]LabelDelta{}}
	operr, oany := eval(oflags, nil)
	nper, nany := eval(nflags, nil)
	for j, l := range labels {
		o, n := operr[j].prf(), nper[j].prf()
		cmp.Labels[l] = LabelDelta{Old: o, New: n, DF1: round4(n.F1 - o.F1)}
	}
	cmp.MacroF1 = Delta{Old: round4(macro(operr)), New: round4(macro(nper))}
	cmp.AnyF1 = Delta{Old: oany.prf().F1, New: nany.prf().F1}
	cmp.MacroF1.Diff = round4(cmp.MacroF1.New - cmp.MacroF1.Old)
	cmp.AnyF1.Diff = round4(cmp.AnyF1.New - cmp.AnyF1.Old)

	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	weights := make([]int, len(data))
	dm, da := make([]float64, 0, boot), make([]float64, 0, boot)
	for range boot {
		clear(weights)
		for range data {
			weights[rng.IntN(len(data))]++
		}
		op, oa := eval(oflags, weights)
		np, na := eval(nflags, weights)
		dm = append(dm, macro(np)-macro(op))
		da = append(da, na.prf().F1-oa.prf().F1)
	}
	cmp.MacroF1.CI, cmp.AnyF1.CI = interval(dm), interval(da)

	for i, e := range data {
		if slices.Equal(oflags[i], nflags[i]) {
			continue
		}
		cmp.ChangedCount++
		if len(cmp.Changed) < MaxChanged {
			cmp.Changed = append(cmp.Changed, Change{ID: e.ID, Text: e.Text, Old: names(labels, oflags[i]), New: names(labels, nflags[i]), Gold: e.Labels})
		}
	}
	return cmp, nil
}

// flagsOf is, per row, which of labels the model flags at its thresholds.
func flagsOf(ctx context.Context, c Classifier, labels []string, data []Example) ([][]bool, error) {
	d := c.Describe()
	col := make([]int, len(labels))
	for j, l := range labels {
		col[j] = slices.Index(d.Labels, l)
	}
	out := make([][]bool, 0, len(data))
	for start := 0; start < len(data); start += 512 {
		batch := data[start:min(start+512, len(data))]
		texts := make([]string, len(batch))
		for i, e := range batch {
			texts[i] = e.Text
		}
		scores, err := c.Classify(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("compare: %s: %w", d.ID(), err)
		}
		for _, s := range scores {
			row := make([]bool, len(labels))
			for j, l := range labels {
				th, ok := d.Thresholds[l]
				if !ok {
					th = 0.5
				}
				row[j] = float64(s[col[j]]) >= th
			}
			out = append(out, row)
		}
	}
	return out, nil
}

func names(labels []string, flags []bool) []string {
	out := []string{}
	for j, f := range flags {
		if f {
			out = append(out, labels[j])
		}
	}
	return out
}

// interval is the 2.5th and 97.5th percentiles.
func interval(x []float64) [2]float64 {
	if len(x) == 0 {
		return [2]float64{}
	}
	sort.Float64s(x)
	at := func(q float64) float64 { return round4(x[min(len(x)-1, int(q*float64(len(x))))]) }
	return [2]float64{at(0.025), at(0.975)}
}
