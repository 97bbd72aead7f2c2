// Package rewrite is the pipeline stage that turns decision "rewrite" into
// an acceptable text: it asks a generator for a candidate, checks the
// candidate with output rails, retries once with the reasons, and falls
// back to masking or blocking. A candidate that fails its rails is never
// emitted.
package rewrite

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/generator"
	"github.com/sieve-stream/sieve/guardrails"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/tagger"
)

// Fallbacks.
const (
	FallbackBlock = "block"
	FallbackMask  = "mask"
)

// Options configure the stage.
type Options struct {
	Rewriter generator.Rewriter
	// Judge scores candidates; each of Labels must come out below its
	// threshold.
	Judge  classifiers.Classifier
	Labels []string
	// Fallback is block (default) or mask: mask replaces the words that
	// drive the judge's score with asterisks (needs a judge that explains
	// itself, generator.Attributor; else it blocks).
	Fallback string
	// Topic receives each accepted rewrite; empty: the verdict only.
	Topic string
	// Rails, when set, adds the policy file's output rails to the
	// built-in checks: a candidate that any rail would mask, rewrite or
	// block fails.
	Rails *guardrails.Engine
}

// Stage implements pipeline.Stage.
type Stage struct{ o Options }

// New returns the stage.
func New(o Options) *Stage {
	if o.Fallback == "" {
		o.Fallback = FallbackBlock
	}
	return &Stage{o: o}
}

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return "rewrite" }

// Process implements pipeline.Stage.
func (s *Stage) Process(ctx context.Context, items []*pipeline.Item) error {
	var todo []*pipeline.Item
	for _, it := range items {
		// A rewrite already made (input rails that masked) stands.
		if it.Decision == contract.DecisionRewrite && it.Text() != "" && it.Rewrite == nil {
			todo = append(todo, it)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	texts := make([]string, len(todo))
	for i, it := range todo {
		texts[i] = it.Text()
	}
	cands, err := s.o.Rewriter.Rewrite(ctx, texts, nil)
	if err != nil {
		return fmt.Errorf("rewrite with %s: %w", s.o.Rewriter.Name(), err)
	}
	reasons, err := s.check(ctx, texts, cands)
	if err != nil {
		return err
	}
	// One retry, told why, for the candidates that failed.
	var retry []int
	feedback := make([]string, len(todo))
	for i, r := range reasons {
		if r != "" {
			retry = append(retry, i)
			feedback[i] = r
		}
	}
	if len(retry) > 0 {
		rt, fb := make([]string, len(retry)), make([]string, len(retry))
		for k, i := range retry {
			rt[k], fb[k] = texts[i], feedback[i]
		}
		again, err := s.o.Rewriter.Rewrite(ctx, rt, fb)
		if err != nil {
			return fmt.Errorf("rewrite with %s: %w", s.o.Rewriter.Name(), err)
		}
		r2, err := s.check(ctx, rt, again)
		if err != nil {
			return err
		}
		for k, i := range retry {
			cands[i], reasons[i] = again[k], r2[k]
		}
	}
	for i, it := range todo {
		if reasons[i] == "" {
			s.accept(it, cands[i])
			continue
		}
		s.fallback(ctx, it, reasons[i])
	}
	return nil
}

func (s *Stage) accept(it *pipeline.Item, text string) {
	t := text
	it.Rewrite = &t
	it.Findings = append(it.Findings, contract.Finding{Detector: "rewrite", Signal: "rewritten", Detail: "by " + s.o.Rewriter.Name()})
	if s.o.Topic != "" {
		b := []byte(`{"v":1,"id":`)
		b = contract.AppendString(b, it.ID)
		b = append(b, `,"rewrite":`...)
		b = contract.AppendString(b, text)
		b = append(b, `,"rewriter":`...)
		b = contract.AppendString(b, s.o.Rewriter.Name())
		b = append(b, '}')
		it.Extra = append(it.Extra, pipeline.Output{Topic: s.o.Topic, Key: it.Record.Key, Value: b})
	}
}

func (s *Stage) fallback(ctx context.Context, it *pipeline.Item, reason string) {
	it.Findings = append(it.Findings, contract.Finding{Detector: "rewrite", Signal: "rewrite_rejected", Detail: reason})
	if a, ok := s.o.Judge.(generator.Attributor); ok && s.o.Fallback == FallbackMask {
		masked := maskWords(it.Text(), a, s.o.Labels)
		if r, err := s.check(ctx, []string{it.Text()}, []string{masked}); err == nil && r[0] == "" {
			it.Rewrite = &masked
			it.Findings = append(it.Findings, contract.Finding{Detector: "rewrite", Signal: "masked", Detail: "fallback after: " + reason})
			return
		}
	}
	it.Decision = contract.DecisionBlock
}

// maskWords stars out the words that push the judge towards a label.
func maskWords(text string, a generator.Attributor, labels []string) string {
	return wordRe.ReplaceAllStringFunc(text, func(w string) string {
		for _, l := range labels {
			if a.Attribution(w, l) > 0.5 {
				return strings.Repeat("*", utf8.RuneCountInString(w))
			}
		}
		return w
	})
}

var (
	wordRe    = regexp.MustCompile(`[\p{L}\p{N}'*]+`)
	numberRe  = regexp.MustCompile(`\d+(?:[.,]\d+)*`)
	refusalRe = regexp.MustCompile(`(?i)\b(?:I can(?:'|no)t (?:help|assist|do that|rewrite)|I(?:'m| am) sorry,? but|as an AI|I won't be able to|I must decline)\b`)
)

// check runs the output rails on each candidate and returns, per text, why
// it failed ("" when it passed).
func (s *Stage) check(ctx context.Context, src, cands []string) ([]string, error) {
	reasons := make([]string, len(cands))
	scores, err := s.o.Judge.Classify(ctx, cands)
	if err != nil {
		return nil, fmt.Errorf("judge rewrites: %w", err)
	}
	d := s.o.Judge.Describe()
	for i, c := range cands {
		var why []string
		for j, l := range d.Labels {
			for _, want := range s.o.Labels {
				if l == want && float64(scores[i][j]) >= d.Thresholds[l] {
					why = append(why, fmt.Sprintf("still %s (%.2f)", l, scores[i][j]))
				}
			}
		}
		if n, o := utf8.RuneCountInString(strings.TrimSpace(c)), utf8.RuneCountInString(src[i]); n == 0 || n < o/5 || n > 2*o+20 {
			why = append(why, "length not kept")
		}
		if refusalRe.MatchString(c) {
			why = append(why, "a refusal, not a rewrite")
		}
		if extra := added(guardrails.PII{}.Scan(c), c, guardrails.PII{}.Scan(src[i]), src[i]); extra != "" {
			why = append(why, "new personal data: "+extra)
		}
		if extra := addedURLs(c, src[i]); extra != "" {
			why = append(why, "new link: "+extra)
		}
		if extra := addedMatches(numberRe, c, src[i]); extra != "" {
			why = append(why, "new number: "+extra)
		}
		if extra := newEntity(c, src[i]); extra != "" {
			why = append(why, "new name: "+extra)
		}
		if s.o.Rails != nil {
			if r := s.o.Rails.Output(c, "", ""); r.Action != guardrails.ActionAllow && r.Action != guardrails.ActionFlag {
				for _, f := range r.Findings {
					why = append(why, "output rail "+f.Scanner+": "+f.Label)
				}
			}
		}
		reasons[i] = strings.Join(why, "; ")
	}
	return reasons, nil
}

func added(spans []guardrails.Span, text string, srcSpans []guardrails.Span, src string) string {
	have := map[string]bool{}
	for _, s := range srcSpans {
		have[src[s.Start:s.End]] = true
	}
	for _, s := range spans {
		if !have[text[s.Start:s.End]] {
			return s.Label
		}
	}
	return ""
}

var linkRe = regexp.MustCompile(`(?i)\b(?:https?://|www\.)\S+`)

func addedURLs(c, src string) string { return addedMatches(linkRe, c, src) }

func addedMatches(re *regexp.Regexp, c, src string) string {
	have := map[string]bool{}
	for _, m := range re.FindAllString(src, -1) {
		have[m] = true
	}
	for _, m := range re.FindAllString(c, -1) {
		if !have[m] {
			return m
		}
	}
	return ""
}

// groundingLabels are the entities a rewrite must not bring in.
var groundingLabels = []string{"person", "gpe", "organization", "street_address", "nrp"}

// newEntity returns a person, place, organisation, address or group the
// built-in tagger finds in the candidate and the source does not have
// (case-insensitively): an entity the rewrite made up.
func newEntity(c, src string) string {
	m, err := tagger.Builtin()
	if err != nil {
		return ""
	}
	low := strings.ToLower(src)
	for _, e := range m.Tag(c) {
		if !slices.Contains(groundingLabels, e.Label) {
			continue
		}
		if w := c[e.Start:e.End]; !strings.Contains(low, strings.ToLower(w)) {
			return w
		}
	}
	return ""
}
