package guardrails

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/sieve-stream/sieve/contract"
	"gopkg.in/yaml.v3"
)

// Action is what a rail's hit does to the text.
type Action string

// Actions, least to most severe.
const (
	ActionAllow   Action = "allow"
	ActionFlag    Action = "flag"
	ActionMask    Action = "mask"
	ActionRewrite Action = "rewrite"
	ActionBlock   Action = "block"
)

// Decision is the verdict's decision for a text the rails took this action
// on: a mask or a rewrite changes the text, so both are a rewrite.
func (a Action) Decision() contract.Decision {
	switch a {
	case ActionBlock:
		return contract.DecisionBlock
	case ActionMask, ActionRewrite:
		return contract.DecisionRewrite
	case ActionFlag:
		return contract.DecisionFlag
	}
	return contract.DecisionAllow
}

// Actions are the rail actions, least severe first.
var Actions = []Action{ActionAllow, ActionFlag, ActionMask, ActionRewrite, ActionBlock}

// Severity orders actions, allow (and "") lowest: where checks disagree the
// most severe wins.
func Severity(a Action) int { return max(slices.Index(Actions, a), 0) }

// Check is one scanner of a rail, with its parameters and the action a hit
// takes.
type Check struct {
	// Scanner names a registered scanner (ScannerTypes).
	Scanner string `yaml:"scanner"`
	Action  Action `yaml:"action"` // what a hit does: allow, flag, mask, rewrite or block
	// Labels limits the check to some of the scanner's labels: for pii,
	// the entity types it acts on (labels: [email_address, phone_number]).
	Labels []string `yaml:"labels"`
	// Scanner parameters.
	Allow     []string `yaml:"allow"`     // urls: hosts; language: ISO 639-1 codes; code: languages (python, javascript, go, sql, shell, c, java, html)
	Deny      []string `yaml:"deny"`      // urls; code: languages
	Words     []string `yaml:"words"`     // banned: substrings, case-insensitive
	Patterns  []string `yaml:"patterns"`  // banned: regexes
	MaxChars  int      `yaml:"max_chars"` // length
	MinChars  int      `yaml:"min_chars"` // length
	Model     string   `yaml:"model"`     // classifier: a built-in model (spam, toxicity, injection, sentiment)
	Threshold float64  `yaml:"threshold"` // classifier: overrides the model's thresholds
	// Entities turns on pii's named-entity tagger for these types: PERSON,
	// STREET_ADDRESS, GPE (cities, states, countries), ORGANIZATION,
	// DATE_TIME, AGE, NRP (nationality, religion, political group).
	Entities []string `yaml:"entities"`
	scanner  Scanner
	labelSet map[string]bool
}

// Rails are the checks run on what goes into a model or stream (input) and
// on what comes out (output).
type Rails struct {
	Input  []Check `yaml:"input"`  // checks on what goes in: a message, or a chat request's turns
	Output []Check `yaml:"output"` // checks on what comes out: a model's reply, streamed or not
}

// Override replaces the rails for messages of a tenant or channel.
type Override struct {
	Tenant  string `yaml:"tenant"`  // messages of this tenant (empty: any)
	Channel string `yaml:"channel"` // and of this channel (empty: any); one of the two is required
	Rails   Rails  `yaml:"rails"`   // replace the policy's rails for them
}

// Policy is a guardrails policy file.
type Policy struct {
	Rails     Rails      `yaml:"rails"`
	Overrides []Override `yaml:"overrides"` // the first that matches a message's tenant and channel replaces Rails for it
}

// LoadPolicy reads and validates a policy file; errors name the file and
// the field.
func LoadPolicy(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p, err := ParsePolicy(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy reads a policy from YAML, rejecting unknown fields.
func ParsePolicy(b []byte) (*Policy, error) {
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if err := p.build(); err != nil {
		return nil, err
	}
	return &p, nil
}

func (p *Policy) build() error {
	if err := p.Rails.build("rails"); err != nil {
		return err
	}
	for i := range p.Overrides {
		o := &p.Overrides[i]
		if o.Tenant == "" && o.Channel == "" {
			return fmt.Errorf("overrides[%d]: needs tenant or channel", i)
		}
		if err := o.Rails.build(fmt.Sprintf("overrides[%d].rails", i)); err != nil {
			return err
		}
	}
	return nil
}

func (r *Rails) build(path string) error {
	for _, side := range []struct {
		name   string
		checks []Check
	}{{"input", r.Input}, {"output", r.Output}} {
		for i := range side.checks {
			if err := side.checks[i].build(fmt.Sprintf("%s.%s[%d]", path, side.name, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Check) build(path string) error {
	if !slices.Contains(Actions, c.Action) {
		return fmt.Errorf("%s.action: %q is not allow, flag, mask, rewrite or block", path, c.Action)
	}
	t, ok := scannerTypes.Lookup(c.Scanner)
	if !ok {
		return fmt.Errorf("%s.scanner: %q is not %s", path, c.Scanner, scannerTypes.Choices())
	}
	sc, err := t.New(c)
	if err != nil {
		return fmt.Errorf("%s.%w", path, err)
	}
	c.scanner = sc
	known := map[string]bool{}
	for _, l := range c.scanner.Labels() {
		known[l] = true
	}
	for j, l := range c.Labels {
		if !known[l] {
			return fmt.Errorf("%s.labels[%d]: %s has no label %q", path, j, c.Scanner, l)
		}
		if c.labelSet == nil {
			c.labelSet = map[string]bool{}
		}
		c.labelSet[l] = true
	}
	return nil
}

// Finding is one hit of a rail.
type Finding struct {
	Scanner string
	Label   string
	Action  Action
	Span    Span
}

// Result is what a rail decided about a text.
type Result struct {
	// Action is the most severe action of the hits, allow when none.
	Action   Action
	Findings []Finding
	// Text is the text with the spans of mask hits replaced by typed
	// placeholders (the text itself when nothing was masked).
	Text string
}

// Engine applies a policy. Reload swaps the policy atomically: checks in
// flight finish on the policy they started with, so nothing is dropped.
type Engine struct {
	p atomic.Pointer[Policy]
}

// NewEngine returns an engine applying p.
func NewEngine(p *Policy) *Engine {
	e := &Engine{}
	e.p.Store(p)
	return e
}

// Reload replaces the policy.
func (e *Engine) Reload(p *Policy) { e.p.Store(p) }

// Input runs the input rails for a message of tenant and channel.
func (e *Engine) Input(text, tenant, channel string) Result {
	return run(e.rails(tenant, channel).Input, text)
}

// Output runs the output rails.
func (e *Engine) Output(text, tenant, channel string) Result {
	return run(e.rails(tenant, channel).Output, text)
}

func (e *Engine) rails(tenant, channel string) Rails {
	p := e.p.Load()
	for _, o := range p.Overrides {
		if (o.Tenant == "" || o.Tenant == tenant) && (o.Channel == "" || o.Channel == channel) {
			return o.Rails
		}
	}
	return p.Rails
}

func run(checks []Check, text string) Result {
	res := Result{Action: ActionAllow, Text: text}
	var masks []Span
	for _, c := range checks {
		for _, s := range c.scanner.Scan(text) {
			if c.labelSet != nil && !c.labelSet[s.Label] {
				continue
			}
			res.Findings = append(res.Findings, Finding{Scanner: c.Scanner, Label: s.Label, Action: c.Action, Span: s})
			if Severity(c.Action) > Severity(res.Action) {
				res.Action = c.Action
			}
			if c.Action == ActionMask {
				masks = append(masks, s)
			}
		}
	}
	if len(masks) > 0 {
		sort.Slice(masks, func(i, j int) bool { return masks[i].Start < masks[j].Start })
		res.Text = Mask(text, ScanAll(text, spanList(masks)))
	}
	return res
}

func init() {
	RegisterScanner(ScannerType{Name: "banned", Summary: "listed words (case-insensitive, on word edges) and regex patterns",
		Params: []string{"words", "patterns"}, New: func(c *Check) (Scanner, error) {
			b, err := newBanned(c.Words, c.Patterns)
			if err != nil {
				return nil, fmt.Errorf("patterns: %w", err)
			}
			return b, nil
		}})
	RegisterScanner(ScannerType{Name: "length", Summary: "texts longer than max_chars or shorter than min_chars characters",
		Params: []string{"max_chars", "min_chars"}, New: func(c *Check) (Scanner, error) {
			if c.MaxChars <= 0 && c.MinChars <= 0 {
				return nil, errors.New("max_chars: length needs max_chars or min_chars")
			}
			return lengthScanner{min: c.MinChars, max: c.MaxChars}, nil
		}})
}

// banned finds listed words (case-insensitive substrings on word
// boundaries) and patterns.
type banned struct{ res []*regexp.Regexp }

func newBanned(words, patterns []string) (banned, error) {
	var b banned
	for _, w := range words {
		if w == "" {
			continue
		}
		// A word boundary only where the banned string has a word
		// character: `\b` after a trailing symbol (the EICAR string ends in
		// "*") would need a letter to follow, and never matches at the end.
		left, right := "", ""
		if isWordByte(w[0]) {
			left = `\b`
		}
		if isWordByte(w[len(w)-1]) {
			right = `\b`
		}
		b.res = append(b.res, regexp.MustCompile(`(?i)`+left+regexp.QuoteMeta(w)+right))
	}
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return b, err
		}
		b.res = append(b.res, re)
	}
	return b, nil
}

func (banned) Name() string     { return "banned" }
func (banned) Labels() []string { return []string{"banned"} }
func (b banned) Scan(text string) []Span {
	var out []Span
	for _, re := range b.res {
		for _, m := range re.FindAllStringIndex(text, -1) {
			out = append(out, Span{m[0], m[1], "banned", 1})
		}
	}
	return ScanAll(text, spanList(out))
}

// lengthScanner flags texts outside [min, max] characters.
type lengthScanner struct{ min, max int }

func (lengthScanner) Name() string     { return "length" }
func (lengthScanner) Labels() []string { return []string{"too_long", "too_short"} }
func (l lengthScanner) Scan(text string) []Span {
	n := utf8.RuneCountInString(strings.TrimSpace(text))
	switch {
	case l.max > 0 && n > l.max:
		return []Span{{0, len(text), "too_long", 1}}
	case l.min > 0 && n < l.min:
		return []Span{{0, len(text), "too_short", 1}}
	}
	return nil
}
