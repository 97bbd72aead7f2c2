package signals

import "time"

// Config is the signals section of sieve.yaml: campaign detection and
// author velocity.
type Config struct {
	// Disabled turns the signals stage off.
	Disabled bool          `yaml:"disabled"`
	Window   time.Duration `yaml:"window"`    // default 10m
	MinChars int           `yaml:"min_chars"` // default 20
	// Store is where replicas share clusters and author counts: redis (the
	// default when redis.addrs is set) or memory (this process only).
	Store string `yaml:"store"`
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.Window <= 0 {
		c.Window = 10 * time.Minute
	}
	if c.MinChars <= 0 {
		c.MinChars = 20
	}
}
