// Package review is the human in the loop: `sieve review`, a web console
// where moderators decide the items a route sends to the review topic, one
// claimed item at a time, and whose decisions go to the decisions topic.
package review

import (
	"errors"
	"fmt"
	"time"
)

// Roles of a moderator's key.
const (
	RoleReviewer = "reviewer"
	RoleAdmin    = "admin" // also sees the queue-health and reviewer pages
)

// Config is the review section of sieve.yaml.
type Config struct {
	// Listen is the console's address (default 127.0.0.1:8090).
	Listen string `yaml:"listen"`
	// Topic is the queue: a route with payload review sends items to it
	// (default review).
	Topic string `yaml:"topic"`
	// DecisionsTopic receives one record per decision, keyed by message id
	// (default decisions).
	DecisionsTopic string `yaml:"decisions_topic"`
	// Lease is how long a claimed item stays with its moderator before it
	// returns to the queue (default 5m).
	Lease time.Duration `yaml:"lease"`
	// Session is how long a login lasts (default 12h).
	Session time.Duration `yaml:"session"`
	// BlurImages shows images blurred until clicked (default true), a
	// wellness default of moderation tools.
	BlurImages *bool `yaml:"blur_images"`
	// ApplyDecisions makes `sieve run` decide a text the way a moderator
	// decided an identical one (after normalisation), reading the decisions
	// topic (default true).
	ApplyDecisions *bool `yaml:"apply_decisions"`
	// Keys are the moderators' keys (sha256 hex of the key, never the key),
	// each with a reviewer id and a role: reviewer or admin.
	Keys []Key `yaml:"keys"`
}

// Key is one moderator's key.
type Key struct {
	ID     string `yaml:"id"`     // the reviewer id in decisions and metrics
	SHA256 string `yaml:"sha256"` // hex SHA-256 of the key (printf %s KEY | sha256sum), never the key
	Role   string `yaml:"role"`   // reviewer (default) or admin
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8090"
	}
	if c.Topic == "" {
		c.Topic = "review"
	}
	if c.DecisionsTopic == "" {
		c.DecisionsTopic = "decisions"
	}
	if c.Lease <= 0 {
		c.Lease = 5 * time.Minute
	}
	if c.Session <= 0 {
		c.Session = 12 * time.Hour
	}
	if c.BlurImages == nil {
		t := true
		c.BlurImages = &t
	}
	if c.ApplyDecisions == nil {
		t := true
		c.ApplyDecisions = &t
	}
	for i := range c.Keys {
		if c.Keys[i].Role == "" {
			c.Keys[i].Role = RoleReviewer
		}
	}
}

// Validate returns the first bad field.
func (c *Config) Validate() error {
	for i, k := range c.Keys {
		if k.ID == "" {
			return fmt.Errorf("review.keys[%d].id: required", i)
		}
		if len(k.SHA256) != 64 {
			return fmt.Errorf("review.keys[%d].sha256: want the 64-hex-digit SHA-256 of the key", i)
		}
		if k.Role != RoleReviewer && k.Role != RoleAdmin && k.Role != "" {
			return fmt.Errorf("review.keys[%d].role: %q is not reviewer or admin", i, k.Role)
		}
	}
	if c.Topic != "" && c.Topic == c.DecisionsTopic {
		return errors.New("review.decisions_topic: must differ from review.topic")
	}
	return nil
}
