package review

import (
	"encoding/json"
	"sort"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/contract"
)

// Message is one chat turn of a preference pair.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Preference is a DPO pair in the conversational format TRL's DPOTrainer
// reads: the rewrite prompt, the moderator's edit (chosen) and the model's
// rewrite (rejected).
type Preference struct {
	ID       string    `json:"id"`
	Prompt   []Message `json:"prompt"`
	Chosen   []Message `json:"chosen"`
	Rejected []Message `json:"rejected"`
}

// Preferences pairs each text's latest decision that edited the model's
// rewrite with that text: decisions without an edit, or whose edit equals
// the model's rewrite, teach no preference and are left out. system is
// the rewriter's system prompt (generator.DefaultPrompt by default).
func Preferences(items map[string]*Item, decisions []Decision, system string) []Preference {
	latest := latestByID(decisions)
	var out []Preference
	for id, d := range latest {
		it := items[id]
		if it == nil || d.Rewrite == nil || d.ModelRewrite == nil || *d.Rewrite == *d.ModelRewrite {
			continue
		}
		out = append(out, Preference{ID: id,
			Prompt:   []Message{{"system", system}, {"user", it.Message.Text}},
			Chosen:   []Message{{"assistant", *d.Rewrite}},
			Rejected: []Message{{"assistant", *d.ModelRewrite}}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ParseDecision reads a decision record.
func ParseDecision(b []byte) (Decision, error) {
	var d Decision
	err := json.Unmarshal(b, &d)
	return d, err
}

// Examples turns each reviewed text's latest decision into a training row:
// the moderator's labels, or none for an allow (a false positive the model
// should unlearn). A block or rewrite without labels says nothing about
// which label, and is left out.
func Examples(items map[string]*Item, decisions []Decision) []classifiers.Example {
	latest := latestByID(decisions)
	var out []classifiers.Example
	for id, d := range latest {
		it := items[id]
		if it == nil {
			continue
		}
		labels := d.Labels
		if d.Decision == contract.DecisionAllow {
			labels = []string{}
		} else if len(labels) == 0 {
			continue
		}
		out = append(out, classifiers.Example{ID: "moderator-" + id, Text: contract.JoinTitle(it.Message.Title, it.Message.Text),
			Labels: labels, Source: "moderator:" + d.Reviewer})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// latestByID keeps each message's latest decision: a later one (a second
// look, an appeal) replaces an earlier.
func latestByID(decisions []Decision) map[string]Decision {
	latest := map[string]Decision{}
	for _, d := range decisions {
		if p, ok := latest[d.ID]; !ok || !d.DecidedAt.Before(p.DecidedAt) {
			latest[d.ID] = d
		}
	}
	return latest
}
