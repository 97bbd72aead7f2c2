package generator

import (
	"context"
	"strings"

	"github.com/sieve-stream/sieve/classifiers"
)

// Pair is a line of a rewrite file: a toxic text and human neutral
// rewrites.
type Pair struct {
	ID          string   `json:"id"`
	Toxic       string   `json:"toxic"`
	Neutral     string   `json:"neutral"`
	NeutralRefs []string `json:"neutral_refs"`
}

// RewriteReport has the contract's keys: style accuracy (share of rewrites
// the toxicity model passes), similarity (chrF of the rewrite against its
// source), reference chrF (against the best human rewrite) and joint (mean
// over texts of style × similarity).
type RewriteReport struct {
	StyleAccuracy float64 `json:"style_accuracy"`
	Similarity    float64 `json:"similarity"`
	ReferenceChrF float64 `json:"reference_chrf"`
	Joint         float64 `json:"joint"`
	Examples      int     `json:"examples"`
	Rewriter      string  `json:"rewriter"`
}

// EvaluateRewrites rewrites every toxic text and scores the results.
func EvaluateRewrites(ctx context.Context, r Rewriter, judge classifiers.Classifier, labels []string, pairs []Pair) (*RewriteReport, error) {
	rep := &RewriteReport{Examples: len(pairs), Rewriter: r.Name()}
	if len(pairs) == 0 {
		return rep, nil
	}
	src := make([]string, len(pairs))
	for i, p := range pairs {
		src[i] = p.Toxic
	}
	out, err := r.Rewrite(ctx, src, nil)
	if err != nil {
		return nil, err
	}
	scores, err := judge.Classify(ctx, out)
	if err != nil {
		return nil, err
	}
	d := judge.Describe()
	var style, sim, ref, joint float64
	for i, p := range pairs {
		ok := 1.0
		for j, l := range d.Labels {
			for _, want := range labels {
				if l == want && float64(scores[i][j]) >= d.Thresholds[l] {
					ok = 0
				}
			}
		}
		s := ChrF(out[i], p.Toxic)
		refs := p.NeutralRefs
		if len(refs) == 0 {
			refs = []string{p.Neutral}
		}
		best := 0.0
		for _, rr := range refs {
			best = max(best, ChrF(out[i], rr))
		}
		style += ok
		sim += s
		ref += best
		joint += ok * s
	}
	n := float64(len(pairs))
	rep.StyleAccuracy, rep.Similarity, rep.ReferenceChrF, rep.Joint = round4(style/n), round4(sim/n), round4(ref/n), round4(joint/n)
	return rep, nil
}

func round4(x float64) float64 { return float64(int64(x*1e4+0.5)) / 1e4 }

// ChrF is the sentence-level character n-gram F-score (Popović 2015) with
// n = 1..6 and β = 2, white space removed, as sacreBLEU computes chrF, on a
// 0–1 scale.
func ChrF(hyp, ref string) float64 {
	h := []rune(strings.Join(strings.Fields(hyp), ""))
	r := []rune(strings.Join(strings.Fields(ref), ""))
	const beta2 = 4.0
	var pSum, rSum float64
	orders := 0
	for n := 1; n <= 6; n++ {
		hc, rc := ngrams(h, n), ngrams(r, n)
		if len(hc) == 0 && len(rc) == 0 {
			continue
		}
		orders++
		match, ht, rt := 0, 0, 0
		for g, c := range hc {
			ht += c
			match += min(c, rc[g])
		}
		for _, c := range rc {
			rt += c
		}
		if ht > 0 {
			pSum += float64(match) / float64(ht)
		}
		if rt > 0 {
			rSum += float64(match) / float64(rt)
		}
	}
	if orders == 0 {
		return 1
	}
	p, rec := pSum/float64(orders), rSum/float64(orders)
	if p+rec == 0 {
		return 0
	}
	return (1 + beta2) * p * rec / (beta2*p + rec)
}

func ngrams(rs []rune, n int) map[string]int {
	out := map[string]int{}
	for i := 0; i+n <= len(rs); i++ {
		out[string(rs[i:i+n])]++
	}
	return out
}
