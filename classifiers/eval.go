package classifiers

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/sieve-stream/sieve/contract"
)

// Example is one labelled text; no labels means benign.
type Example struct {
	ID     string   `json:"id"`
	Text   string   `json:"text"`
	Labels []string `json:"labels"`
	// Functionality names what a functional test case probes ("negation",
	// "threat_conditional"); Evaluate reports pass rates per functionality.
	Functionality string `json:"functionality,omitempty"`
	// Source names where a row of a merged corpus came from.
	Source string `json:"source,omitempty"`
	// Unknown are labels this row's source never annotated (partial
	// labels: a corpus that marks threats but not whether they are
	// violent): training learns nothing about them from the row, rather
	// than taking their absence as "no".
	Unknown []string `json:"unknown,omitempty"`
}

// Functional is a functional test suite's result for one functionality: a
// case with labels passes when any of them is flagged, a case without
// labels when nothing is.
type Functional struct {
	Cases    int     `json:"cases"`
	Passed   int     `json:"passed"`
	PassRate float64 `json:"pass_rate"`
}

// PRF is precision, recall, F1 and support of one label.
type PRF struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// AnyMetrics scores "flagged at all" against "has any label".
type AnyMetrics struct {
	Accuracy  float64 `json:"accuracy"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// Report is the contract's evaluation JSON, plus, for single-label data,
// accuracy and support-weighted F1 over the classes (benign included) taken
// as the most probable one.
type Report struct {
	Labels      map[string]PRF `json:"labels"`
	MacroF1     float64        `json:"macro_f1"`
	Any         AnyMetrics     `json:"any"`
	Unsupported []string       `json:"unsupported"`
	Accuracy    *float64       `json:"accuracy,omitempty"`
	WeightedF1  *float64       `json:"weighted_f1,omitempty"`
	// With a categories model: the share of rows it abstained on (category
	// "other"; counted as wrong in accuracy) and the accuracy on the rest.
	Abstention       *float64 `json:"abstention,omitempty"`
	AnsweredAccuracy *float64 `json:"answered_accuracy,omitempty"`
	Examples         int      `json:"examples"`
	// Functionalities and FunctionalPassRate are present when the data's
	// rows name a functionality (a functional test suite).
	Functionalities    map[string]Functional `json:"functionalities,omitempty"`
	FunctionalPassRate *float64              `json:"functional_pass_rate,omitempty"`

	// For plots: every label's scores and truth, row by row, and the
	// single-label confusion matrix (rows true, columns predicted; "" is
	// benign).
	Scores    map[string][]float32 `json:"-"`
	Truth     map[string][]bool    `json:"-"`
	Classes   []string             `json:"-"`
	Confusion map[[2]string]int    `json:"-"`
}

type counts struct{ tp, fp, fn int }

func (c counts) prf() PRF {
	p := ratio(c.tp, c.tp+c.fp)
	r := ratio(c.tp, c.tp+c.fn)
	f := 0.0
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return PRF{Precision: round4(p), Recall: round4(r), F1: round4(f), Support: c.tp + c.fn}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// Evaluate scores data with the classifiers at their thresholds (overridden
// by thresholds where given) and compares flags with the labels. A
// categories model predicts its category instead of flags, and the first
// one gives the single-label view.
func Evaluate(ctx context.Context, cs []Classifier, data []Example, thresholds map[string]float64, batch int) (*Report, error) {
	if batch <= 0 {
		batch = 256
	}
	known := map[string]bool{}
	for _, c := range cs {
		for _, l := range c.Describe().Labels {
			known[l] = true
		}
	}
	per := map[string]*counts{}
	for l := range known {
		per[l] = &counts{}
	}
	unsupported := map[string]bool{}
	singleLabel := true
	var anyC counts
	anyCorrect := 0
	classTP, classPred, classTrue := map[string]int{}, map[string]int{}, map[string]int{}
	correct := 0
	allScores, allTruth := map[string][]float32{}, map[string][]bool{}
	confusion := map[[2]string]int{}
	abstained, answeredCorrect := 0, 0
	functional := map[string]*Functional{}
	hasCategories := false
	for _, c := range cs {
		hasCategories = hasCategories || c.Describe().Categories
	}
	for start := 0; start < len(data); start += batch {
		end := min(start+batch, len(data))
		texts := make([]string, end-start)
		for i := range texts {
			texts[i] = data[start+i].Text
		}
		scores := make([]map[string]float64, len(texts))
		cats := make([]map[string]bool, len(texts)) // label -> chosen, for labels of categories models
		firstCat := make([]string, len(texts))
		for i := range scores {
			scores[i] = map[string]float64{}
			cats[i] = map[string]bool{}
		}
		for _, c := range cs {
			d := c.Describe()
			out, err := c.Classify(ctx, texts)
			if err != nil {
				return nil, fmt.Errorf("evaluate with %s: %w", d.ID(), err)
			}
			for i, row := range out {
				for j, l := range d.Labels {
					scores[i][l] = float64(row[j])
				}
				if d.Categories {
					cat := d.Category(row)
					for _, l := range d.Labels {
						cats[i][l] = l == cat
					}
					if firstCat[i] == "" {
						firstCat[i] = cat
					}
				}
			}
		}
		for i, s := range scores {
			ex := data[start+i]
			truth := map[string]bool{}
			for _, l := range ex.Labels {
				truth[l] = true
				if !known[l] {
					unsupported[l] = true
				}
			}
			if len(ex.Labels) > 1 {
				singleLabel = false
			}
			flagged, flaggedTrue := false, false
			best, bestScore := "", 0.0
			for l, sc := range s {
				t := 0.5
				for _, c := range cs {
					if v, ok := c.Describe().Thresholds[l]; ok {
						t = v
					}
				}
				if v, ok := thresholds[l]; ok {
					t = v
				}
				pred := sc >= t
				if chosen, ok := cats[i][l]; ok {
					pred = chosen
				}
				flagged = flagged || pred
				if !truth[l] && slices.Contains(ex.Unknown, l) {
					continue // the row's source never said; nothing to score
				}
				allScores[l] = append(allScores[l], float32(sc))
				allTruth[l] = append(allTruth[l], truth[l])
				flaggedTrue = flaggedTrue || (pred && truth[l])
				switch {
				case pred && truth[l]:
					per[l].tp++
				case pred:
					per[l].fp++
				case truth[l]:
					per[l].fn++
				}
				if pred && sc > bestScore {
					best, bestScore = l, sc
				}
			}
			has := false
			for _, l := range ex.Labels {
				if known[l] {
					has = true
				}
			}
			if ex.Functionality != "" {
				f := functional[ex.Functionality]
				if f == nil {
					f = &Functional{}
					functional[ex.Functionality] = f
				}
				f.Cases++
				if (len(ex.Labels) == 0 && !flagged) || (len(ex.Labels) > 0 && flaggedTrue) {
					f.Passed++
				}
			}
			switch {
			case flagged && has:
				anyC.tp++
				anyCorrect++
			case flagged:
				anyC.fp++
			case has:
				anyC.fn++
			default:
				anyCorrect++
			}
			// Single-label view: the flagged label with the highest score,
			// or benign when nothing is flagged.
			trueClass := ""
			if len(ex.Labels) == 1 {
				trueClass = ex.Labels[0]
			}
			if hasCategories {
				best = firstCat[i]
				if best == contract.CategoryOther {
					abstained++
				} else if best == trueClass {
					answeredCorrect++
				}
			}
			classPred[best]++
			classTrue[trueClass]++
			confusion[[2]string{trueClass, best}]++
			if best == trueClass {
				correct++
				classTP[best]++
			}
		}
	}
	rep := &Report{Labels: map[string]PRF{}, Unsupported: []string{}, Examples: len(data),
		Scores: allScores, Truth: allTruth, Confusion: confusion}
	classSet := map[string]bool{"": true}
	for k := range confusion {
		classSet[k[0]], classSet[k[1]] = true, true
	}
	for c := range classSet {
		rep.Classes = append(rep.Classes, c)
	}
	sort.Strings(rep.Classes)
	var sum float64
	n := 0
	for l, c := range per {
		prf := c.prf()
		if prf.Support == 0 && c.fp == 0 {
			continue // a label the model knows but this data never mentions
		}
		rep.Labels[l] = prf
		sum += prf.F1
		n++
	}
	if n > 0 {
		rep.MacroF1 = round4(sum / float64(n))
	}
	a := anyC.prf()
	rep.Any = AnyMetrics{Accuracy: round4(ratio(anyCorrect, len(data))), Precision: a.Precision, Recall: a.Recall, F1: a.F1}
	if len(functional) > 0 {
		rep.Functionalities = map[string]Functional{}
		cases, passed := 0, 0
		for name, f := range functional {
			f.PassRate = round4(ratio(f.Passed, f.Cases))
			rep.Functionalities[name] = *f
			cases += f.Cases
			passed += f.Passed
		}
		r := round4(ratio(passed, cases))
		rep.FunctionalPassRate = &r
	}
	for l := range unsupported {
		rep.Unsupported = append(rep.Unsupported, l)
	}
	sort.Strings(rep.Unsupported)
	if singleLabel && len(data) > 0 {
		acc := round4(ratio(correct, len(data)))
		rep.Accuracy = &acc
		var w float64
		for cl, t := range classTrue {
			c := counts{tp: classTP[cl], fp: classPred[cl] - classTP[cl], fn: t - classTP[cl]}
			w += c.prf().F1 * float64(t)
		}
		wf := round4(w / float64(len(data)))
		rep.WeightedF1 = &wf
		if hasCategories {
			ab := round4(ratio(abstained, len(data)))
			aa := round4(ratio(answeredCorrect, len(data)-abstained))
			rep.Abstention, rep.AnsweredAccuracy = &ab, &aa
		}
	}
	return rep, nil
}

// Threshold picks the score threshold for one label from scores and truth:
// the one that maximises F1, or, when targetPrecision > 0, the lowest one
// whose precision reaches it (highest recall at that precision).
func Threshold(scores []float32, truth []bool, targetPrecision float64) float64 {
	type pair struct {
		s float32
		t bool
	}
	ps := make([]pair, len(scores))
	pos := 0
	for i := range scores {
		ps[i] = pair{scores[i], truth[i]}
		if truth[i] {
			pos++
		}
	}
	if pos == 0 {
		return 0.5
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].s > ps[j].s })
	best, bestF := 0.5, -1.0
	tp, fp := 0, 0
	for i, p := range ps {
		if p.t {
			tp++
		} else {
			fp++
		}
		// Only cut between distinct scores.
		if i+1 < len(ps) && ps[i+1].s == p.s {
			continue
		}
		prec := float64(tp) / float64(tp+fp)
		rec := float64(tp) / float64(pos)
		cut := float64(p.s)
		if i+1 < len(ps) {
			cut = (float64(p.s) + float64(ps[i+1].s)) / 2
		}
		if targetPrecision > 0 {
			if prec >= targetPrecision {
				best = cut
			}
			continue
		}
		f := 2 * prec * rec / (prec + rec)
		if f > bestF {
			best, bestF = cut, f
		}
	}
	return math.Round(best*1e4) / 1e4
}
