package cache

import (
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the cache section of sieve.yaml: the verdict cache (an in-process LRU, with Redis behind
// it when redis.addrs is set).
type Config struct {
	// Enabled defaults to true.
	Enabled bool          `yaml:"enabled"`
	LRUSize int           `yaml:"lru_size"` // entries in the in-process LRU
	TTL     time.Duration `yaml:"ttl"`      // lifetime of an entry in Redis
	// Store is where replicas share verdicts: redis (the default when
	// redis.addrs is set) or memory (this process's LRU only).
	Store string `yaml:"store"`
	set   bool
}

// UnmarshalYAML records that the section was given, so that an explicit
// enabled: false is told apart from an absent section.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	type plain Config
	p := plain{Enabled: true}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*c = Config(p)
	c.set = true
	return nil
}

// EnsureDefaults fills unset fields: an absent section is an enabled
// cache.
func (c *Config) EnsureDefaults() {
	if !c.set {
		*c = Config{Enabled: true, LRUSize: c.LRUSize, TTL: c.TTL, Store: c.Store, set: true}
	}
	if c.LRUSize <= 0 {
		c.LRUSize = 100_000
	}
	if c.TTL <= 0 {
		c.TTL = time.Hour
	}
}
