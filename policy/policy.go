// Package policy turns scores into a verdict: per-label thresholds give
// flags, and ordered rules over flags and scores give the decision (allow,
// flag, rewrite or block).
package policy

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

// Rule decides when a label's score lies in [Min, Max).
type Rule struct {
	// Label is a label's score in [0, 1]; or Signal, one of the item's
	// signals (campaign_size, campaign_authors, author_rate, author_age_s,
	// new_author_rate),
	// any non-negative number. One of the two.
	Label  string `yaml:"label"`
	Signal string `yaml:"signal"`
	// Flagged, with Label, matches when the label is flagged: its score is
	// at or above its threshold (the model's calibrated one, or
	// thresholds' override), whatever that threshold is.
	Flagged bool `yaml:"flagged"`
	// Min is inclusive; Max exclusive (0 means no upper bound).
	Min      float64           `yaml:"min"`
	Max      float64           `yaml:"max"`
	Decision contract.Decision `yaml:"decision"` // allow, flag, rewrite, support or block
}

// Config is the policy section of sieve.yaml.
type Config struct {
	// Thresholds override the models' own per-label thresholds.
	Thresholds map[string]float64 `yaml:"thresholds"`
	// Rules are evaluated all; the most severe matching decision wins.
	// A flagged item that no rule matches gets "flag".
	Rules []Rule `yaml:"rules"`
}

// Default is a policy a social platform would accept for the built-in
// labels. Anything at or above its model's calibrated threshold is flagged
// for review; beyond that:
//   - the moderation labels that name the gravest harms are blocked: sexual
//     content involving minors whenever it is flagged; threats against a
//     person or a group, self-harm instructions and requests for violent
//     crime when the model is fairly sure (0.7), and flagged for review
//     below that, since a removal a person never sees must be rare on
//     ordinary posts;
//   - self-harm intent gets "support": the post stays up and its author is
//     shown help resources (removing it punishes someone asking for help);
//   - harassment is rewritten when the model is fairly sure, as offensive
//     language was; hate, sexual, violence and illicit content are flagged;
//   - spam is blocked only when near-certain; confident prompt attacks are
//     blocked; the opt-in toxicity model's labels keep their old rules.
var Default = Config{
	Rules: []Rule{
		{Label: "sexual_minors", Flagged: true, Decision: contract.DecisionBlock},
		{Label: "harassment_threatening", Flagged: true, Min: 0.7, Decision: contract.DecisionBlock},
		{Label: "hate_threatening", Flagged: true, Min: 0.7, Decision: contract.DecisionBlock},
		{Label: "self_harm_instructions", Flagged: true, Min: 0.7, Decision: contract.DecisionBlock},
		{Label: "illicit_violent", Flagged: true, Min: 0.7, Decision: contract.DecisionBlock},
		{Label: "self_harm_intent", Flagged: true, Decision: contract.DecisionSupport},
		{Label: "harassment", Min: 0.8, Decision: contract.DecisionRewrite},
		{Label: "spam", Min: 0.95, Decision: contract.DecisionBlock},
		{Label: "offensive_language", Min: 0.6, Max: 0.9, Decision: contract.DecisionRewrite},
		{Label: "offensive_language", Min: 0.9, Decision: contract.DecisionBlock},
		{Label: "hate_speech", Min: 0.7, Decision: contract.DecisionBlock},
		{Label: "jailbreak", Min: 0.9, Decision: contract.DecisionBlock},
		{Label: "prompt_injection", Min: 0.9, Decision: contract.DecisionBlock},
		{Label: "toxic", Min: 0.6, Max: 0.9, Decision: contract.DecisionRewrite},
		{Label: "toxic", Min: 0.9, Decision: contract.DecisionBlock},
		// The same text from twenty accounts within the window is a
		// campaign, whatever the spam model thinks of each copy.
		{Signal: "campaign_authors", Min: 20, Decision: contract.DecisionFlag},
		// Evidence an attached image was generated (detectors.Stage).
		{Signal: "media_trained_algorithmic_media", Min: 1, Decision: contract.DecisionFlag},
		{Signal: "media_composite_with_trained_algorithmic_media", Min: 1, Decision: contract.DecisionFlag},
		{Signal: "media_generator_metadata", Min: 1, Decision: contract.DecisionFlag},
	},
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	for l, t := range c.Thresholds {
		if t < 0 || t > 1 {
			return fmt.Errorf("policy.thresholds.%s: %v is not in [0, 1]", l, t)
		}
	}
	for i, r := range c.Rules {
		if (r.Label == "") == (r.Signal == "") {
			return fmt.Errorf("policy.rules[%d]: needs exactly one of label and signal", i)
		}
		if r.Flagged && r.Label == "" {
			return fmt.Errorf("policy.rules[%d].flagged: goes with label, not signal", i)
		}
		if !r.Decision.Valid() {
			return fmt.Errorf("policy.rules[%d].decision: %q is not one of %s", i, r.Decision, contract.DecisionNames())
		}
		if r.Label != "" && (r.Min < 0 || r.Min > 1 || r.Max < 0 || r.Max > 1 || (r.Max > 0 && r.Max <= r.Min)) {
			return fmt.Errorf("policy.rules[%d]: min %v and max %v do not make a range in [0, 1]", i, r.Min, r.Max)
		}
		if r.Signal != "" && (r.Min < 0 || r.Max < 0 || (r.Max > 0 && r.Max <= r.Min)) {
			return fmt.Errorf("policy.rules[%d]: min %v and max %v do not make a range", i, r.Min, r.Max)
		}
	}
	return nil
}

// Policy applies a Config. It implements pipeline.Stage.
type Policy struct {
	thresholds map[string]float64
	rules      []Rule
	categories []contract.Categories
}

// New builds a policy; modelThresholds are the classifiers' own, which
// cfg.Thresholds override; categories are the categories models, whose
// choice the policy writes into each item.
func New(cfg Config, modelThresholds map[string]float64, categories ...contract.Categories) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Policy{thresholds: make(map[string]float64), rules: cfg.Rules, categories: categories}
	for l, t := range modelThresholds {
		p.thresholds[l] = t
	}
	for l, t := range cfg.Thresholds {
		p.thresholds[l] = t
	}
	return p, nil
}

// Name implements pipeline.Stage.
func (p *Policy) Name() string { return "policy" }

// Process implements pipeline.Stage.
func (p *Policy) Process(_ context.Context, items []*pipeline.Item) error {
	for _, it := range items {
		p.Decide(it)
	}
	return nil
}

// Decide fills the item's categories, flags and decision from its scores.
func (p *Policy) Decide(it *pipeline.Item) {
	for _, c := range p.categories {
		it.SetCategory(c.Model, c.Category(&it.Verdict))
	}
	it.Flags = it.Flags[:0]
	for _, s := range it.Scores {
		if t, ok := p.thresholds[s.Label]; ok && s.Score >= t {
			it.Flags = append(it.Flags, s.Label)
		}
	}
	// Evidence that flags a label at its detector's own threshold (an NSFW
	// image: sexual) flags it whatever the label's score.
	for _, f := range it.Findings {
		if f.Label != "" && !slices.Contains(it.Flags, f.Label) {
			it.Flags = append(it.Flags, f.Label)
		}
	}
	sort.Strings(it.Flags)
	for i := range it.Parts {
		pt := &it.Parts[i]
		pt.Flags = pt.Flags[:0]
		for _, s := range pt.Scores {
			if t, ok := p.thresholds[s.Label]; ok && s.Score >= t {
				pt.Flags = append(pt.Flags, s.Label)
			}
		}
		sort.Strings(pt.Flags)
	}
	decision := contract.DecisionAllow
	if len(it.Flags) > 0 {
		decision = contract.DecisionFlag
	}
	matched := false
	best := contract.DecisionAllow
	for _, r := range p.rules {
		var s float64
		var ok bool
		if r.Signal != "" {
			s, ok = it.Signals[r.Signal]
		} else {
			s, ok = it.Score(r.Label)
		}
		if !ok || s < r.Min || (r.Max > 0 && s >= r.Max) {
			continue
		}
		if r.Flagged && !slices.Contains(it.Flags, r.Label) {
			continue
		}
		matched = true
		d := r.Decision
		if d == contract.DecisionRewrite && r.Label != "" && fromPart(it, r.Label, s) {
			// A rewrite changes only the message's text; what an image
			// says cannot be rewritten, so it goes to review instead.
			d = contract.DecisionFlag
		}
		if contract.Severity(d) > contract.Severity(best) {
			best = d
		}
	}
	if matched && contract.Severity(best) > contract.Severity(decision) {
		decision = best
	}
	// A stage earlier in the chain (a media detector, a campaign signal) may
	// already have decided more severely; never lower it.
	if contract.Severity(it.Decision) > contract.Severity(decision) {
		decision = it.Decision
	}
	it.Decision = decision
}

// fromPart reports whether the label's score s is a part's (an image's
// text), not the message text's.
func fromPart(it *pipeline.Item, label string, s float64) bool {
	for _, p := range it.Parts {
		for _, ps := range p.Scores {
			if ps.Label == label && ps.Score >= s {
				return true
			}
		}
	}
	return false
}
