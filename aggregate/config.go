// Package aggregate counts verdicts in tumbling event-time windows: per
// window and tenant, the messages, decisions, each categories model's
// categories (and optionally their crossings, "negative reviews about
// dresses"), flags and mean scores per label. A window closes when the
// partition's event time passes its end plus the allowed lateness; it is
// then written to the aggregates topic and added to Prometheus counters,
// once.
//
// State follows each input partition (pipeline.Folder): it is saved as a
// snapshot with the outputs of the records it covers, so in exactly-once
// mode a window is counted and emitted exactly once across crashes and
// rebalances, and in at-least-once mode records replayed after a crash are
// recognised by offset and not counted again.
package aggregate

import (
	"fmt"
	"time"
)

// Config is the aggregates section of sieve.yaml.
type Config struct {
	// Topic receives one record per closed window, tenant and input
	// partition. Empty: no aggregates.
	Topic string `yaml:"topic"`
	// StateTopic holds the snapshots (compacted; default Topic + ".state").
	StateTopic string `yaml:"state_topic"`
	// Windows are the tumbling window sizes (default 1m and 1h).
	Windows []time.Duration `yaml:"windows"`
	// Lateness is how far behind the partition's newest event time a
	// message may be and still count (default 30s); later ones are counted
	// in sieve_window_late_total only.
	Lateness time.Duration `yaml:"lateness"`
	// ByTenant splits windows per tenant (default true).
	ByTenant *bool `yaml:"by_tenant"`
	// Cross names categories models whose categories are also counted
	// together, e.g. [review_category, sentiment] gives "dresses/negative".
	Cross []string `yaml:"cross"`
}

// Enabled says whether aggregates are configured.
func (c *Config) Enabled() bool { return c.Topic != "" }

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if !c.Enabled() {
		return
	}
	if c.StateTopic == "" {
		c.StateTopic = c.Topic + ".state"
	}
	if len(c.Windows) == 0 {
		c.Windows = []time.Duration{time.Minute, time.Hour}
	}
	if c.Lateness == 0 {
		c.Lateness = 30 * time.Second
	}
	if c.ByTenant == nil {
		t := true
		c.ByTenant = &t
	}
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	for i, w := range c.Windows {
		if w < time.Second || w > 7*24*time.Hour || w%time.Second != 0 {
			return fmt.Errorf("aggregates.windows[%d]: %s is not a whole number of seconds between 1s and 168h", i, w)
		}
	}
	if c.Lateness < 0 {
		return fmt.Errorf("aggregates.lateness: %s is negative", c.Lateness)
	}
	if c.StateTopic == c.Topic {
		return fmt.Errorf("aggregates.state_topic: must differ from aggregates.topic")
	}
	if len(c.Cross) == 1 {
		return fmt.Errorf("aggregates.cross: needs two or more categories models, has %v", c.Cross)
	}
	return nil
}
