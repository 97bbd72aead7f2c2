package guardrails

import (
	"sort"
	"strings"
	"unicode"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/datasets"
)

// SpanExample is one line of a labelled span file: code-point offsets,
// End exclusive.
type SpanExample = datasets.SpanRow

// SpanReport is per-label precision, recall and F1 on exact spans, with the
// contract's keys.
type SpanReport struct {
	Labels      map[string]classifiers.PRF `json:"labels"`
	MacroF1     float64                    `json:"macro_f1"`
	Unsupported []string                   `json:"unsupported"`
	Examples    int                        `json:"examples"`
}

// EvaluateSpans scores scanners against labelled spans: a found span counts
// only when its start, end and label all match.
func EvaluateSpans(data []SpanExample, scanners ...Scanner) *SpanReport {
	known := map[string]bool{}
	for _, s := range scanners {
		for _, l := range s.Labels() {
			known[l] = true
		}
	}
	type key struct {
		start, end int
		label      string
	}
	tp, fp, fn := map[string]int{}, map[string]int{}, map[string]int{}
	unsupported := map[string]bool{}
	for _, ex := range data {
		want := map[key]bool{}
		for _, s := range ex.Spans {
			if !known[s.Label] {
				unsupported[s.Label] = true
				continue
			}
			a, b := trimSpan(ex.Text, s.Start, s.End)
			want[key{a, b, s.Label}] = true
		}
		for _, s := range ScanAll(ex.Text, scanners...) {
			a, b := RuneOffsets(ex.Text, s)
			k := key{a, b, s.Label}
			if want[k] {
				tp[s.Label]++
				delete(want, k)
			} else {
				fp[s.Label]++
			}
		}
		for k := range want {
			fn[k.label]++
		}
	}
	rep := &SpanReport{Labels: map[string]classifiers.PRF{}, Unsupported: []string{}, Examples: len(data)}
	var sum float64
	n := 0
	for l := range known {
		if tp[l]+fp[l]+fn[l] == 0 {
			continue
		}
		p := ratio(tp[l], tp[l]+fp[l])
		r := ratio(tp[l], tp[l]+fn[l])
		f := 0.0
		if p+r > 0 {
			f = 2 * p * r / (p + r)
		}
		rep.Labels[l] = classifiers.PRF{Precision: round4(p), Recall: round4(r), F1: round4(f), Support: tp[l] + fn[l]}
		sum += f
		n++
	}
	if n > 0 {
		rep.MacroF1 = round4(sum / float64(n))
	}
	for l := range unsupported {
		rep.Unsupported = append(rep.Unsupported, l)
	}
	sort.Strings(rep.Unsupported)
	return rep
}

// trimSpan drops spaces around a labelled span (code-point offsets) and
// punctuation after it: a gold "Király u. 15." or "Apt. 236\n" is found as
// "Király u. 15" and "Apt. 236".
func trimSpan(text string, a, b int) (int, int) {
	rs := []rune(text)
	if a < 0 || b > len(rs) || a > b {
		return a, b
	}
	for a < b && unicode.IsSpace(rs[a]) {
		a++
	}
	for b > a && (unicode.IsSpace(rs[b-1]) || strings.ContainsRune(".,;:", rs[b-1])) {
		b--
	}
	return a, b
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func round4(x float64) float64 { return float64(int64(x*1e4+0.5)) / 1e4 }
