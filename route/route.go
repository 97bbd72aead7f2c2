// Package route sends copies of verdicts, or of the input messages
// themselves, to topics chosen per message: by a categories model's choice
// ("reviews.{category}"), by the decision, or by a rule over labels, flags
// and signals ("reviews.needs-attention" for negative reviews that mention
// safety). A routed record is one more output of its input record, so it
// shares the verdict's delivery guarantee: the input offset is committed
// only after it is written, and in exactly-once mode it is part of the same
// transaction.
package route

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

// Payloads.
const (
	PayloadVerdict = "verdict" // the verdict, as on the verdicts topic
	PayloadMessage = "message" // the input record's value and headers, unchanged
	PayloadReview  = "review"  // the verdict with the decoded message as its "message" field (sieve review's queue)
)

// Config is one entry of sieve.yaml's routes.
type Config struct {
	// Topic is a template: {category} is the first categories model's
	// choice, {category.NAME} model NAME's, {flag} the highest-scoring
	// flagged label, and {decision}, {tenant} and {channel} the message's; characters Kafka does not allow in a topic
	// name become "_", and an empty value "none".
	Topic string `yaml:"topic"`
	// Payload is verdict (default), message, or review (the verdict with
	// the message in it, for `sieve review`).
	Payload string `yaml:"payload"`
	// When must all hold for the route to take a message; empty: always.
	When When `yaml:"when"`
}

// When is a route's condition. Every part that is set must hold.
type When struct {
	Decisions []contract.Decision `yaml:"decisions"` // the decision is one of these
	// Categories: each model's category is the one given.
	Categories map[string]string `yaml:"categories"`
	Flags      []string          `yaml:"flags"` // at least one of these flagged
	// Labels: each label scored at or above the number.
	Labels map[string]float64 `yaml:"labels"`
	// Signals: each signal (campaign_authors, author_rate...) at or above.
	Signals map[string]float64 `yaml:"signals"`
}

// EnsureDefaults fills in the payload.
func (c *Config) EnsureDefaults() {
	if c.Payload == "" {
		c.Payload = PayloadVerdict
	}
}

// Validate names the first bad field of routes[i].
func (c *Config) Validate(i int) error {
	field := func(f string) string { return fmt.Sprintf("routes[%d].%s", i, f) }
	if c.Topic == "" {
		return fmt.Errorf("%s: is required", field("topic"))
	}
	if _, err := parseTemplate(c.Topic); err != nil {
		return fmt.Errorf("%s: %w", field("topic"), err)
	}
	switch c.Payload {
	case PayloadVerdict, PayloadMessage, PayloadReview, "":
	default:
		return fmt.Errorf("%s: %q is not verdict, message or review", field("payload"), c.Payload)
	}
	for _, d := range c.When.Decisions {
		if !d.Valid() {
			return fmt.Errorf("%s: %q is not one of %s", field("when.decisions"), d, contract.DecisionNames())
		}
	}
	for l, v := range c.When.Labels {
		if v < 0 || v > 1 {
			return fmt.Errorf("%s: %v is not in [0, 1]", field("when.labels."+l), v)
		}
	}
	return nil
}

// Dynamic says whether the topic depends on the message's tenant, channel
// or flags, so that its topics cannot be created ahead and the producer must
// ask the broker to create them (auto.create.topics.enable).
func (c *Config) Dynamic() bool {
	parts, _ := parseTemplate(c.Topic)
	for _, p := range parts {
		if p.field == "tenant" || p.field == "channel" || p.field == "flag" {
			return true
		}
	}
	return false
}

// part is a literal or a placeholder of a topic template.
type part struct {
	lit   string
	field string // "", "category", "flag", "decision", "tenant", "channel"
	model string // for category: "" means the first categories model
}

func parseTemplate(s string) ([]part, error) {
	var parts []part
	for s != "" {
		open := strings.IndexByte(s, '{')
		if open < 0 {
			parts = append(parts, part{lit: s})
			break
		}
		if open > 0 {
			parts = append(parts, part{lit: s[:open]})
		}
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed { in %q", s)
		}
		name := s[open+1 : open+end]
		switch {
		case name == "decision", name == "tenant", name == "channel", name == "category", name == "flag":
			parts = append(parts, part{field: name})
		case strings.HasPrefix(name, "category.") && len(name) > len("category."):
			parts = append(parts, part{field: "category", model: strings.TrimPrefix(name, "category.")})
		default:
			return nil, fmt.Errorf("unknown placeholder {%s} (category, category.MODEL, flag, decision, tenant, channel)", name)
		}
		s = s[open+end+1:]
	}
	for _, p := range parts {
		if p.field == "" && strings.Map(topicRune, p.lit) != p.lit {
			return nil, fmt.Errorf("%q holds characters Kafka does not allow in a topic name", p.lit)
		}
	}
	return parts, nil
}

// topicRune keeps what Kafka allows in a topic name ([a-zA-Z0-9._-]).
func topicRune(r rune) rune {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		return r
	}
	return '_'
}

type compiled struct {
	Config
	parts []part
}

// Stage appends the routed copies to each item's outputs. It implements
// pipeline.Stage and runs after the policy.
type Stage struct {
	routes     []compiled
	categories map[string][]string // categories model -> its labels, for Topics
}

// New compiles routes; categories are the categories models in
// configuration order ({category} means the first).
func New(routes []Config, categories []contract.Categories) (*Stage, error) {
	s := &Stage{categories: map[string][]string{}}
	var categoryModels []string
	for _, c := range categories {
		categoryModels = append(categoryModels, c.Model)
		s.categories[c.Model] = c.Labels
	}
	for i, r := range routes {
		r.EnsureDefaults()
		if err := r.Validate(i); err != nil {
			return nil, err
		}
		parts, _ := parseTemplate(r.Topic)
		for j, p := range parts {
			if p.field != "category" {
				continue
			}
			if p.model == "" {
				if len(categoryModels) == 0 {
					return nil, fmt.Errorf("routes[%d].topic: {category} needs a categories model among the classifiers (such as builtin review_category)", i)
				}
				parts[j].model = categoryModels[0]
			} else if !slices.Contains(categoryModels, p.model) {
				return nil, fmt.Errorf("routes[%d].topic: {category.%s}: no categories model is named %s (have %v)", i, p.model, p.model, categoryModels)
			}
		}
		for m := range r.When.Categories {
			if !slices.Contains(categoryModels, m) {
				return nil, fmt.Errorf("routes[%d].when.categories.%s: no categories model is named %s (have %v)", i, m, m, categoryModels)
			}
		}
		s.routes = append(s.routes, compiled{r, parts})
	}
	return s, nil
}

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return "route" }

// Process implements pipeline.Stage.
func (s *Stage) Process(_ context.Context, items []*pipeline.Item) error {
	for _, it := range items {
		if it.Err != nil || it.Msg == nil {
			continue
		}
		for i := range s.routes {
			r := &s.routes[i]
			if !r.matches(it) {
				continue
			}
			out := pipeline.Output{Topic: r.topic(it), Key: it.Record.Key}
			switch r.Payload {
			case PayloadMessage:
				out.Value, out.Headers = it.Record.Value, it.Record.Headers
			case PayloadReview:
				out.VerdictWithMessage = true
			default:
				out.SameAsVerdict = true
			}
			it.Extra = append(it.Extra, out)
		}
	}
	return nil
}

func (r *compiled) matches(it *pipeline.Item) bool {
	w := &r.When
	decision := it.Decision
	if decision == "" {
		decision = contract.DecisionAllow
	}
	if len(w.Decisions) > 0 && !slices.Contains(w.Decisions, decision) {
		return false
	}
	for m, c := range w.Categories {
		if it.Category(m) != c {
			return false
		}
	}
	if len(w.Flags) > 0 && !slices.ContainsFunc(w.Flags, func(f string) bool { return slices.Contains(it.Flags, f) }) {
		return false
	}
	for l, min := range w.Labels {
		if s, ok := it.Score(l); !ok || s < min {
			return false
		}
	}
	for n, min := range w.Signals {
		if v, ok := it.Signals[n]; !ok || v < min {
			return false
		}
	}
	return true
}

func (r *compiled) topic(it *pipeline.Item) string {
	if len(r.parts) == 1 && r.parts[0].field == "" {
		return r.parts[0].lit
	}
	var b strings.Builder
	for _, p := range r.parts {
		var v string
		switch p.field {
		case "":
			b.WriteString(p.lit)
			continue
		case "category":
			v = it.Category(p.model)
		case "decision":
			v = string(cmp.Or(it.Decision, contract.DecisionAllow))
		case "flag":
			v = topFlag(it)
		case "tenant":
			v = it.Msg.Tenant
		case "channel":
			v = it.Msg.Channel
		}
		if v == "" {
			v = "none"
		}
		b.WriteString(strings.Map(topicRune, v))
	}
	return b.String()
}

// topFlag is the flagged label with the highest score, "" when none.
func topFlag(it *pipeline.Item) string {
	best, bestScore := "", -1.0
	for _, f := range it.Flags {
		if s, _ := it.Score(f); s > bestScore {
			best, bestScore = f, s
		}
	}
	return best
}

// Topics lists every topic the routes can name that is known before any
// message arrives: templates over categories and decisions expand to each
// value ("other" included); templates over flags, tenant or channel are
// left to the broker's topic auto-creation.
func (s *Stage) Topics() []string {
	set := map[string]bool{}
	for _, r := range s.routes {
		names := []string{""}
		ok := true
		for _, p := range r.parts {
			var vals []string
			switch p.field {
			case "":
				vals = []string{p.lit}
			case "category":
				vals = append(slices.Clone(s.categories[p.model]), contract.CategoryOther)
			case "decision":
				for _, d := range contract.Decisions {
					vals = append(vals, string(d))
				}
			default:
				ok = false
			}
			var next []string
			for _, n := range names {
				for _, v := range vals {
					next = append(next, n+strings.Map(topicRune, v))
				}
			}
			names = next
		}
		if ok {
			for _, n := range names {
				set[n] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
