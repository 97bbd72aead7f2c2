// Package generator holds the rewrite backends: an embedded rewriter that
// needs no model server, and (to come) an OpenAI-compatible chat client for
// vLLM, llama.cpp, Ollama, TGI or OpenAI itself.
package generator

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sieve-stream/sieve/classifiers"
)

// Rewriter turns flagged texts into acceptable ones.
//
// Rewrite returns one candidate per text, in order. feedback, when not
// nil, holds for each text why its previous candidate failed the output
// rails ("" when this is a first try). A candidate still goes through the
// output rails before anything is emitted.
type Rewriter interface {
	Name() string
	Rewrite(ctx context.Context, texts []string, feedback []string) ([]string, error)
}

// Attributor explains a model's score word by word (linear.Model does).
type Attributor interface {
	classifiers.Classifier
	Attribution(word, label string) float64
}

// Embedded is the rewriter that needs no model server: it removes the words
// that drive the toxicity model's score, most offending first, until the
// text scores below the bar, then repairs spacing and punctuation. It never
// adds words, so it cannot add PII, links or facts.
type Embedded struct {
	Model Attributor
	// Labels are the labels to bring below their thresholds.
	Labels []string
	// MaxRemoved bounds the share of words it may remove (default 0.5).
	MaxRemoved float64
}

// Name implements Rewriter.
func (e *Embedded) Name() string { return "embedded" }

// Rewrite implements Rewriter.
func (e *Embedded) Rewrite(ctx context.Context, texts []string, _ []string) ([]string, error) {
	out := make([]string, len(texts))
	for i, t := range texts {
		r, err := e.rewrite(ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

var wordRe = regexp.MustCompile(`\S+`)

func (e *Embedded) rewrite(ctx context.Context, text string) (string, error) {
	maxShare := e.MaxRemoved
	if maxShare <= 0 {
		maxShare = 0.5
	}
	d := e.Model.Describe()
	idx := map[string]int{}
	for j, l := range d.Labels {
		idx[l] = j
	}
	locs := wordRe.FindAllStringIndex(text, -1)
	type cand struct {
		i     int
		score float64
	}
	var cands []cand
	for i, m := range locs {
		w := text[m[0]:m[1]]
		best := 0.0
		for _, l := range e.Labels {
			best = max(best, e.Model.Attribution(w, l))
		}
		if best > 0 {
			cands = append(cands, cand{i, best})
		}
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].score > cands[b].score })
	removed := map[int]bool{}
	limit := int(maxShare * float64(len(locs)))
	current := text
	for _, c := range cands {
		ok, err := e.clean(ctx, current, d, idx)
		if err != nil {
			return "", err
		}
		if ok || len(removed) >= limit {
			break
		}
		removed[c.i] = true
		current = rebuild(text, locs, removed)
	}
	return current, nil
}

// clean reports whether text scores below every label's threshold.
func (e *Embedded) clean(ctx context.Context, text string, d classifiers.Description, idx map[string]int) (bool, error) {
	s, err := e.Model.Classify(ctx, []string{text})
	if err != nil {
		return false, err
	}
	for _, l := range e.Labels {
		if j, ok := idx[l]; ok && float64(s[0][j]) >= d.Thresholds[l] {
			return false, nil
		}
	}
	return true, nil
}

// rebuild joins the words not removed and repairs what removing left
// behind: doubled spaces, spaces before punctuation, a leading punctuation
// mark, a lower-case first letter where the source had a capital.
func rebuild(text string, locs [][]int, removed map[int]bool) string {
	var words []string
	for i, m := range locs {
		if !removed[i] {
			words = append(words, text[m[0]:m[1]])
		}
	}
	s := strings.Join(words, " ")
	for _, p := range []string{" ,", " .", " !", " ?", " ;", " :"} {
		s = strings.ReplaceAll(s, p, p[1:])
	}
	s = strings.TrimLeft(s, " ,;:.-")
	for strings.Contains(s, ",,") || strings.Contains(s, ", ,") {
		s = strings.ReplaceAll(strings.ReplaceAll(s, ", ,", ","), ",,", ",")
	}
	if r, n := utf8.DecodeRuneInString(text); n > 0 && unicode.IsUpper(r) && s != "" {
		f, m := utf8.DecodeRuneInString(s)
		s = string(unicode.ToUpper(f)) + s[m:]
	}
	return s
}
