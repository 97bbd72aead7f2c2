package classifiers

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// Rule raises a label's score when the text contains one of its keywords
// (whole words, case-insensitive) or matches one of its patterns.
type Rule struct {
	Label    string   `yaml:"label"`    // the label it scores
	Keywords []string `yaml:"keywords"` // words or phrases, matched on word boundaries after normalisation
	Patterns []string `yaml:"patterns"` // regular expressions (RE2)
	// Weight is the score one hit contributes; hits combine as
	// 1 - Π(1 - weight), so two 0.6 hits give 0.84.
	Weight float64 `yaml:"weight"`
}

// RulesConfig configures the rule baseline.
type RulesConfig struct {
	Name      string  `yaml:"name"`      // the classifier's name in verdicts; default rules
	Rules     []Rule  `yaml:"rules"`     // each adds its weight to its label when it matches
	Threshold float64 `yaml:"threshold"` // a label flags at this score; default 0.5
}

// Rules is the keyword/regex baseline classifier: transparent and cheap, and
// a floor that trained models must beat. It is multi-label: each label is
// scored on its own.
type Rules struct {
	desc   Description
	labels map[string]int
	// Keywords are found by one pass over the text's word n-grams; only
	// patterns cost a regexp each.
	keywords  map[string][]hit
	maxPhrase int
	groups    []ruleGroup
}

type hit struct {
	label  int
	weight float64
}

type ruleGroup struct {
	label  int
	weight float64
	re     *regexp.Regexp
}

// DefaultRules is the baseline's built-in rule set for spam and toxicity.
var DefaultRules = RulesConfig{
	Name:      "rules-baseline",
	Threshold: 0.5,
	Rules: []Rule{
		{Label: "spam", Weight: 0.45, Keywords: []string{"free", "winner", "won", "prize", "claim", "cash", "urgent",
			"click here", "limited time", "act now", "guaranteed", "viagra", "lottery", "bitcoin", "crypto giveaway",
			"txt", "subscribe", "unsubscribe", "offer", "discount", "buy now", "100% free", "earn money", "work from home"}},
		{Label: "spam", Weight: 0.35, Patterns: []string{`https?://\S+`, `www\.\S+`, `\b\d{5,}\b`, `[£$€]\s?\d+`, `!{2,}`}},
		{Label: "toxic", Weight: 0.55, Keywords: []string{"idiot", "stupid", "moron", "dumb", "loser", "shut up", "hate you",
			"trash", "pathetic", "worthless", "kill yourself", "kys", "fuck", "fucking", "shit", "bitch", "bastard", "asshole",
			"retard", "retarded", "scum", "disgusting"}},
	},
}

// NewRules compiles a rule set.
func NewRules(cfg RulesConfig) (*Rules, error) {
	if cfg.Name == "" {
		cfg.Name = "rules"
	}
	if cfg.Threshold <= 0 {
		cfg.Threshold = 0.5
	}
	r := &Rules{labels: make(map[string]int)}
	var labels []string
	for i, rule := range cfg.Rules {
		if rule.Label == "" {
			return nil, fmt.Errorf("rules[%d].label: empty", i)
		}
		if rule.Weight <= 0 || rule.Weight > 1 {
			return nil, fmt.Errorf("rules[%d].weight: %v is not in (0, 1]", i, rule.Weight)
		}
		if _, ok := r.labels[rule.Label]; !ok {
			r.labels[rule.Label] = len(labels)
			labels = append(labels, rule.Label)
		}
		if len(rule.Keywords)+len(rule.Patterns) == 0 {
			return nil, fmt.Errorf("rules[%d]: needs keywords or patterns", i)
		}
		for j, k := range rule.Keywords {
			words := wordsOf(k, nil)
			if len(words) == 0 {
				return nil, fmt.Errorf("rules[%d].keywords[%d]: %q has no letters or digits", i, j, k)
			}
			if r.keywords == nil {
				r.keywords = make(map[string][]hit)
			}
			key := strings.Join(words, " ")
			r.keywords[key] = append(r.keywords[key], hit{r.labels[rule.Label], rule.Weight})
			r.maxPhrase = max(r.maxPhrase, len(words))
		}
		for j, p := range rule.Patterns {
			re, err := regexp.Compile("(?i)" + p)
			if err != nil {
				return nil, fmt.Errorf("rules[%d].patterns[%d]: %w", i, j, err)
			}
			r.groups = append(r.groups, ruleGroup{label: r.labels[rule.Label], weight: rule.Weight, re: re})
		}
	}
	thresholds := make(map[string]float64, len(labels))
	for _, l := range labels {
		thresholds[l] = cfg.Threshold
	}
	var canon strings.Builder
	fmt.Fprintf(&canon, "%s|%v|", cfg.Name, cfg.Threshold)
	keys := make([]string, 0, len(r.keywords))
	for k := range r.keywords {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&canon, "%q:%v;", k, r.keywords[k])
	}
	for _, g := range r.groups {
		fmt.Fprintf(&canon, "%d:%v:%s;", g.label, g.weight, g.re.String())
	}
	r.desc = Description{Name: cfg.Name, Version: ContentVersion([]byte(canon.String())), Kind: MultiLabel,
		Labels: labels, Thresholds: thresholds}
	return r, nil
}

// Describe implements Classifier.
func (r *Rules) Describe() Description { return r.desc }

// Classify implements Classifier.
func (r *Rules) Classify(_ context.Context, texts []string) ([][]float32, error) {
	n := len(r.desc.Labels)
	flat := make([]float32, len(texts)*n)
	out := make([][]float32, len(texts))
	miss := make([]float64, n)
	var words []string
	seen := make(map[string]bool)
	for i, t := range texts {
		for j := range miss {
			miss[j] = 1
		}
		words = wordsOf(t, words[:0])
		clear(seen)
		for w := range words {
			phrase := ""
			for k := 0; k < r.maxPhrase && w+k < len(words); k++ {
				if k == 0 {
					phrase = words[w]
				} else {
					phrase += " " + words[w+k]
				}
				if hits, ok := r.keywords[phrase]; ok && !seen[phrase] {
					seen[phrase] = true
					for _, h := range hits {
						miss[h.label] *= 1 - h.weight
					}
				}
			}
		}
		for _, g := range r.groups {
			if g.re.MatchString(t) {
				miss[g.label] *= 1 - g.weight
			}
		}
		row := flat[i*n : (i+1)*n : (i+1)*n]
		for j := range row {
			row[j] = float32(1 - miss[j])
		}
		out[i] = row
	}
	return out, nil
}

// Labels returns the rule set's labels, sorted.
func (c RulesConfig) Labels() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range c.Rules {
		if !seen[r.Label] {
			seen[r.Label] = true
			out = append(out, r.Label)
		}
	}
	sort.Strings(out)
	return out
}

// wordsOf appends the lower-cased runs of letters and digits of s.
func wordsOf(s string, dst []string) []string {
	start := -1
	for i, c := range s {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			dst = append(dst, strings.ToLower(s[start:i]))
			start = -1
		}
	}
	if start >= 0 {
		dst = append(dst, strings.ToLower(s[start:]))
	}
	return dst
}
