// Package redis connects Sieve to Redis with go-redis: standalone, Sentinel
// or Cluster from one config, and the Redis side of the verdict cache and
// the campaign signals. Every call is bounded by a short timeout: Redis
// helps Sieve go faster and see campaigns, it must never stop the pipeline.
package redis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"github.com/sieve-stream/sieve/internal/resilience"
)

// Config is the redis section of sieve.yaml. With no Addrs, Sieve runs
// without Redis (in-process cache and signals only).
type Config struct {
	// Addrs: one address for a standalone server, several for a Cluster,
	// or the Sentinels' addresses together with MasterName.
	Addrs      []string      `yaml:"addrs"`
	MasterName string        `yaml:"master_name"`
	Username   string        `yaml:"username"` // ACL user
	Password   string        `yaml:"password"` // password (or the ACL user's)
	DB         int           `yaml:"db"`       // database number (standalone and Sentinel)
	Timeout    time.Duration `yaml:"timeout"`  // per call; default 50ms
	TLS        TLSConfig     `yaml:"tls"`
	// Prefix namespaces every key Sieve writes.
	Prefix string `yaml:"prefix"`
}

// TLSConfig enables TLS to Redis.
type TLSConfig struct {
	Enabled            bool   `yaml:"enabled"`              // TLS to Redis
	CAFile             string `yaml:"ca_file"`              // PEM CA bundle; default the system roots
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"` // skip certificate checks (tests only)
}

// Enabled reports whether a Redis is configured.
func (c *Config) Enabled() bool { return len(c.Addrs) > 0 }

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = 50 * time.Millisecond
	}
	if c.Prefix == "" {
		c.Prefix = "sieve:"
	}
}

// Validate names the first bad field.
func (c *Config) Validate() error {
	if c.MasterName != "" && len(c.Addrs) == 0 {
		return errors.New("redis.addrs: the Sentinels' addresses are needed with redis.master_name")
	}
	if c.DB < 0 || c.DB > 15 {
		return fmt.Errorf("redis.db: %d is not in 0..15", c.DB)
	}
	if c.Timeout > 10*time.Second {
		return fmt.Errorf("redis.timeout: %s is too long for a cache; the pipeline waits on it", c.Timeout)
	}
	return nil
}

// quietLogger routes go-redis's own logging (a line per failed dial while
// Redis is down) to debug level: Sieve's breaker already logs each state
// change once.
type quietLogger struct{}

func (quietLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

func init() { goredis.SetLogger(quietLogger{}) }

// Client is the go-redis client Sieve uses: standalone, Sentinel failover or
// Cluster, chosen by the config as go-redis's UniversalClient does.
type Client struct {
	goredis.UniversalClient
	Prefix  string
	Timeout time.Duration
	br      *resilience.Breaker
}

// Breaker is the one circuit breaker of this Redis, shared by every user of
// the client (the verdict cache, the campaign signals): an outage seen by
// one is an outage for all, at the same moment, and sieve_redis_up says
// what they all do. It closes again after three good calls in a row, so a
// Redis that is still loading its data does not make it flap.
func (c *Client) Breaker() *resilience.Breaker { return c.br }

// Watch registers sieve_redis_up on reg and logs the breaker's changes.
// With c nil (no Redis configured) the gauge stays 0. Call it once, before
// the client is used.
func Watch(reg prometheus.Registerer, c *Client, log *slog.Logger) {
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "sieve_redis_up",
		Help: "1 while Sieve uses Redis; 0 while the breaker shared by the verdict cache and the campaign signals is open or half-open, or no Redis is configured."})
	if reg != nil {
		reg.MustRegister(up)
	}
	if c == nil {
		return
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	up.Set(1)
	c.br.OnChange = func(_, to resilience.BreakerState) {
		switch to {
		case resilience.BreakerClosed:
			up.Set(1)
			log.Info("redis is back; the verdict cache and campaign signals use it again")
		case resilience.BreakerOpen:
			up.Set(0)
			log.Warn("redis unavailable; the verdict cache and campaign signals carry on in-process")
		default:
			up.Set(0)
		}
	}
}

// New connects (lazily: go-redis dials on first use).
func New(c Config) (*Client, error) {
	c.EnsureDefaults()
	o := &goredis.UniversalOptions{
		Addrs: c.Addrs, MasterName: c.MasterName, Username: c.Username, Password: c.Password, DB: c.DB,
		DialTimeout: 4 * c.Timeout, ReadTimeout: c.Timeout, WriteTimeout: c.Timeout,
		PoolTimeout: c.Timeout, MaxRetries: -1, // a retry would double the wait; the caller falls back instead
	}
	if c.TLS.Enabled {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLS.InsecureSkipVerify}
		if c.TLS.CAFile != "" {
			pem, err := os.ReadFile(c.TLS.CAFile)
			if err != nil {
				return nil, fmt.Errorf("redis.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("redis.tls.ca_file: %s holds no PEM certificate", c.TLS.CAFile)
			}
			tc.RootCAs = pool
		}
		o.TLSConfig = tc
	}
	return &Client{UniversalClient: goredis.NewUniversalClient(o), Prefix: c.Prefix, Timeout: c.Timeout,
		br: &resilience.Breaker{Threshold: 3, Cooldown: 2 * time.Second, Successes: 3}}, nil
}

// GetMulti reads keys in one round trip (a pipeline of GETs, which, unlike
// MGET, also works across Cluster slots). Missing keys are nil.
func (c *Client) GetMulti(ctx context.Context, keys []string) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cmds := make([]*goredis.StringCmd, len(keys))
	_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, c.Prefix+k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("redis get: %w", err)
	}
	out := make([][]byte, len(keys))
	for i, cmd := range cmds {
		if b, err := cmd.Bytes(); err == nil {
			out[i] = b
		}
	}
	return out, nil
}

// SetMulti writes keys with a TTL in one round trip.
func (c *Client) SetMulti(ctx context.Context, keys []string, vals [][]byte, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			p.Set(ctx, c.Prefix+k, vals[i], ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis set: %w", err)
	}
	return nil
}
