// Package cache is the verdict cache: a stage that wraps the classify stage
// and scores each distinct normalised text once. Lookups go to an
// in-process LRU, then, for a whole micro-batch in one round trip, to a
// shared Store (Redis); identical texts in a batch, or in batches being
// scored at the same time, are scored once. The key holds the version of
// the model set and policy, so a model upgrade never reads old scores. The
// value is labels and scores, not the decision, which depends on the
// message's context.
package cache

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sieve-stream/sieve/internal/resilience"
	"github.com/sieve-stream/sieve/internal/textnorm"
	"github.com/sieve-stream/sieve/pipeline"
)

// Store is the shared layer behind the LRU. Both calls must return within
// a short timeout; an error makes the stage carry on without the store.
type Store interface {
	GetMulti(ctx context.Context, keys []string) ([][]byte, error)
	SetMulti(ctx context.Context, keys []string, vals [][]byte, ttl time.Duration) error
}

// Options configure the cache stage.
type Options struct {
	// Version identifies the model set and policy; it is part of every key.
	Version string
	LRUSize int           // default 100,000 entries
	TTL     time.Duration // of Store entries; default 1h
	Store   Store         // nil: the LRU alone
	// BreakerThreshold store failures in a row stop using the store for
	// BreakerCooldown; then one batch tries it again.
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// Breaker, when set, is the store's breaker shared with its other
	// users (redis.Client.Breaker); the two fields above are then unused.
	Breaker *resilience.Breaker
	Metrics *Metrics
	Logger  *slog.Logger
}

// Metrics are the cache's collectors.
type Metrics struct {
	Lookups      *prometheus.CounterVec
	Shared       prometheus.Counter
	StoreLatency prometheus.Histogram
}

// NewMetrics creates the collectors and registers them on reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Lookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_cache_lookups_total",
			Help: "Verdict cache lookups by layer (lru, redis) and result (hit, miss)."}, []string{"layer", "result"}),
		Shared: prometheus.NewCounter(prometheus.CounterOpts{Name: "sieve_cache_shared_total",
			Help: "Texts not scored because an identical one in flight was."}),
		StoreLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sieve_redis_duration_seconds",
			Help: "Round trips to Redis.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)}),
	}
	if reg != nil {
		reg.MustRegister(m.Lookups, m.Shared, m.StoreLatency)
	}
	return m
}

type entry struct {
	Scores map[string]float64 `json:"s"`
	Models map[string]string  `json:"m"`
}

// storeKey is the key of a cache entry in the shared Store.
func storeKey(k uint64) string { return "v:" + strconv.FormatUint(k, 36) }

type call struct {
	done chan struct{}
	e    *entry // nil when the leader failed
}

// Stage caches what inner (the classify stage) writes into items.
type Stage struct {
	inner pipeline.Stage
	o     Options
	lru   *lru.Cache[uint64, *entry]
	br    *resilience.Breaker
	m     *Metrics
	log   *slog.Logger

	mu       sync.Mutex
	inflight map[uint64]*call

	hitLRU, hitStore, miss, shared prometheus.Counter

	lookups, hits atomic.Int64
}

// Stats returns how many texts the stage looked up and how many it served
// without scoring them (from the LRU, Redis, or an identical text in
// flight).
func (s *Stage) Stats() (lookups, hits int64) { return s.lookups.Load(), s.hits.Load() }

// New wraps inner.
func New(inner pipeline.Stage, o Options) *Stage {
	if o.LRUSize <= 0 {
		o.LRUSize = 100_000
	}
	if o.TTL <= 0 {
		o.TTL = time.Hour
	}
	if o.BreakerThreshold <= 0 {
		o.BreakerThreshold = 3
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = 2 * time.Second
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c, _ := lru.New[uint64, *entry](o.LRUSize)
	s := &Stage{inner: inner, o: o, lru: c, m: o.Metrics, log: o.Logger, inflight: map[uint64]*call{}}
	s.hitLRU = s.m.Lookups.WithLabelValues("lru", "hit")
	s.miss = s.m.Lookups.WithLabelValues("lru", "miss")
	s.hitStore = s.m.Lookups.WithLabelValues("redis", "hit")
	switch {
	case o.Store == nil:
	case o.Breaker != nil:
		s.br = o.Breaker
	default:
		s.br = &resilience.Breaker{Threshold: o.BreakerThreshold, Cooldown: o.BreakerCooldown, OnChange: func(_, to resilience.BreakerState) {
			if to == resilience.BreakerOpen {
				s.log.Warn("redis unavailable; verdict cache carries on in-process only", "cooldown", o.BreakerCooldown)
			} else if to == resilience.BreakerClosed {
				s.log.Info("redis is back; verdict cache uses it again")
			}
		}}
	}
	return s
}

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return s.inner.Name() }

// Close closes the stage it wraps when that holds resources; the Store
// belongs to whoever made it (the app closes its Redis client).
func (s *Stage) Close() error {
	if c, ok := s.inner.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Key is the cache key of a text: a stable 64-bit hash (xxHash) of the
// version and the normalised text, the same in every replica.
func (s *Stage) Key(norm string) uint64 {
	d := xxhash.New()
	d.WriteString(s.o.Version)
	d.Write([]byte{0})
	d.WriteString(norm)
	return d.Sum64()
}

// Process implements pipeline.Stage.
func (s *Stage) Process(ctx context.Context, items []*pipeline.Item) error {
	s.lookups.Add(int64(len(items)))
	scored := 0
	defer func() { s.hits.Add(int64(len(items) - scored)) }()
	groups := make(map[uint64][]*pipeline.Item, len(items))
	var order []uint64
	for _, it := range items {
		if it.Normalized == "" {
			it.Normalized = textnorm.Normalize(it.Text())
		}
		k := s.Key(it.Normalized)
		if e, ok := s.lru.Get(k); ok {
			s.hitLRU.Inc()
			apply(it, e)
			continue
		}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		} else {
			s.m.Shared.Inc()
		}
		groups[k] = append(groups[k], it)
	}
	if len(order) == 0 {
		return nil
	}
	s.miss.Add(float64(len(order)))

	// Keys another batch is already scoring are waited for, after this
	// batch scored its own: no two workers wait on each other.
	var lead []uint64
	waits := map[uint64]*call{}
	s.mu.Lock()
	for _, k := range order {
		if c, ok := s.inflight[k]; ok {
			waits[k] = c
			continue
		}
		s.inflight[k] = &call{done: make(chan struct{})}
		lead = append(lead, k)
	}
	s.mu.Unlock()

	results := make(map[uint64]*entry, len(lead))
	n, err := s.lead(ctx, lead, groups, results)
	scored += n
	s.mu.Lock()
	for _, k := range lead {
		c := s.inflight[k]
		c.e = results[k]
		delete(s.inflight, k)
		close(c.done)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}

	var retry []*pipeline.Item
	for k, c := range waits {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if c.e == nil {
			retry = append(retry, groups[k]...)
			continue
		}
		s.m.Shared.Add(float64(len(groups[k])))
		for _, it := range groups[k] {
			apply(it, c.e)
		}
	}
	if len(retry) > 0 {
		scored += len(retry)
		return s.inner.Process(ctx, retry)
	}
	return nil
}

// lead fills results for keys this batch scores: from the store, else by
// running inner on one item per key.
func (s *Stage) lead(ctx context.Context, keys []uint64, groups map[uint64][]*pipeline.Item, results map[uint64]*entry) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	missing := keys
	if s.o.Store != nil && s.br.Allow() {
		start := time.Now()
		skeys := make([]string, len(keys))
		for i, k := range keys {
			skeys[i] = storeKey(k)
		}
		vals, err := s.o.Store.GetMulti(ctx, skeys)
		s.m.StoreLatency.Observe(time.Since(start).Seconds())
		s.br.Done(err == nil)
		if err == nil {
			missing = missing[:0:0]
			for i, k := range keys {
				var e entry
				if vals[i] != nil && json.Unmarshal(vals[i], &e) == nil {
					s.hitStore.Inc()
					results[k] = &e
					s.lru.Add(k, &e)
					for _, it := range groups[k] {
						apply(it, &e)
					}
					continue
				}
				missing = append(missing, k)
			}
			s.m.Lookups.WithLabelValues("redis", "miss").Add(float64(len(missing)))
		}
	}
	if len(missing) == 0 {
		return 0, nil
	}
	reps := make([]*pipeline.Item, len(missing))
	for i, k := range missing {
		reps[i] = groups[k][0]
	}
	if err := s.inner.Process(ctx, reps); err != nil {
		return len(reps), err
	}
	var wkeys []string
	var wvals [][]byte
	for i, k := range missing {
		rep := reps[i]
		for _, it := range groups[k][1:] {
			if rep.Err != nil {
				it.Fail(rep.Err.Stage, rep.Err.Code, rep.Err.Detail)
			} else {
				copyScores(it, rep)
			}
		}
		if rep.Err != nil {
			continue
		}
		e := &entry{Scores: make(map[string]float64, len(rep.Scores)), Models: rep.Models}
		for _, sc := range rep.Scores {
			e.Scores[sc.Label] = sc.Score
		}
		results[k] = e
		s.lru.Add(k, e)
		if s.o.Store == nil {
			continue
		}
		if b, err := json.Marshal(e); err == nil {
			wkeys, wvals = append(wkeys, storeKey(k)), append(wvals, b)
		}
	}
	if s.o.Store != nil && len(wkeys) > 0 && s.br.Allow() {
		start := time.Now()
		err := s.o.Store.SetMulti(ctx, wkeys, wvals, s.o.TTL)
		s.m.StoreLatency.Observe(time.Since(start).Seconds())
		s.br.Done(err == nil)
	}
	return len(reps), nil
}

func apply(it *pipeline.Item, e *entry) {
	for l, sc := range e.Scores {
		it.SetScore(l, sc, e.Models[l])
	}
	it.Cached = true
}

func copyScores(dst, src *pipeline.Item) {
	for _, sc := range src.Scores {
		dst.SetScore(sc.Label, sc.Score, src.Models[sc.Label])
	}
}
