package review

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/override"
)

// Decision is a moderator's decision on one item: a record on the
// decisions topic, keyed by message id (contract: "Decision record").
type Decision struct {
	V  int    `json:"v"`
	ID string `json:"id"` // the message id
	// TextKey names the normalised text (override.Key): `sieve run`
	// decides later identical texts by this decision.
	TextKey string `json:"text_key"`
	// TextSHA256 is the hex SHA-256 of the text the moderator saw, so that
	// a replay can tell the decision's text from a later edit.
	TextSHA256 string `json:"text_sha256"`
	// Models and Scores are the verdict's at decision time.
	Models map[string]string  `json:"models"`
	Scores map[string]float64 `json:"scores"`
	// ModelDecision is what the pipeline decided; Decision what the
	// moderator did.
	ModelDecision contract.Decision `json:"model_decision"`
	Reviewer      string            `json:"reviewer"`
	// Labels are the labels the moderator says the text has.
	Labels   []string          `json:"labels"`
	Decision contract.Decision `json:"decision"`
	// Rewrite is the moderator's edit of the rewrite, if any; ModelRewrite
	// the rewrite the pipeline proposed (a preference pair with it).
	Rewrite      *string   `json:"rewrite,omitempty"`
	ModelRewrite *string   `json:"model_rewrite,omitempty"`
	Claim        string    `json:"claim"`
	DecidedAt    time.Time `json:"decided_at"`
}

// NewDecision fills the record's fields that come from the item.
func NewDecision(it *Item, reviewer, claim string, labels []string, d contract.Decision, rewrite *string, now time.Time) Decision {
	text := contract.JoinTitle(it.Message.Title, it.Message.Text)
	sum := sha256.Sum256([]byte(text))
	if labels == nil {
		labels = []string{}
	}
	key := override.Key(text)
	if len(it.Message.Media) > 0 || strings.TrimSpace(text) == "" {
		key = "" // the override stage never applies such a decision elsewhere
	}
	return Decision{V: 1, ID: it.ID, TextKey: key, TextSHA256: hex.EncodeToString(sum[:]), Models: it.Models, Scores: it.Labels,
		ModelDecision: it.Decision, Reviewer: reviewer, Labels: labels, Decision: d, Rewrite: rewrite,
		ModelRewrite: it.Rewrite, Claim: claim, DecidedAt: now.UTC()}
}

// Encode is the record's value.
func (d Decision) Encode() []byte {
	b, _ := json.Marshal(d) // plain fields: cannot fail
	return b
}
