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
	"slices"
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

// entry is one text's scores, in the order of its label set. The label
// set (labels and the models that scored them) is shared by every entry of
// the same models, so an entry is two small objects, one of them a
// pointer-free array: with maps per entry, a full LRU was hundreds of MB
// for the garbage collector to mark, and its pauses were the default
// pipeline's latency tail (issue 19).
type entry struct {
	set    *labelSet
	scores []float64
}

// labelSet is the labels of a set of entries and, for each, its model.
type labelSet struct {
	labels, models []string
}

// wireEntry is an entry as the shared Store holds it, readable by every
// version that wrote it.
type wireEntry struct {
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

	// sets are the label sets seen, one per model set in practice; last is
	// the one used last, checked first without the lock.
	setsMu sync.Mutex
	sets   []*labelSet
	last   atomic.Pointer[labelSet]

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
				var w wireEntry
				if vals[i] != nil && json.Unmarshal(vals[i], &w) == nil {
					s.hitStore.Inc()
					e := s.fromWire(&w)
					results[k] = e
					s.lru.Add(k, e)
					for _, it := range groups[k] {
						apply(it, e)
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
		e := s.entryOf(rep)
		results[k] = e
		s.lru.Add(k, e)
		if s.o.Store == nil {
			continue
		}
		if b, err := json.Marshal(e.wire()); err == nil {
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
	for i, l := range e.set.labels {
		it.SetScore(l, e.scores[i], e.set.models[i])
	}
	it.Cached = true
}

// entryOf is the entry of a scored item.
func (s *Stage) entryOf(it *pipeline.Item) *entry {
	e := &entry{scores: make([]float64, len(it.Scores))}
	for i, sc := range it.Scores {
		e.scores[i] = sc.Score
	}
	e.set = s.intern(len(it.Scores), func(i int) (string, string) {
		l := it.Scores[i].Label
		return l, it.Models[l]
	})
	return e
}

// fromWire is the entry of a Store value, its labels in sorted order.
func (s *Stage) fromWire(w *wireEntry) *entry {
	labels := make([]string, 0, len(w.Scores))
	for l := range w.Scores {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	e := &entry{scores: make([]float64, len(labels))}
	for i, l := range labels {
		e.scores[i] = w.Scores[l]
	}
	e.set = s.intern(len(labels), func(i int) (string, string) { return labels[i], w.Models[labels[i]] })
	return e
}

func (e *entry) wire() wireEntry {
	w := wireEntry{Scores: make(map[string]float64, len(e.scores)), Models: make(map[string]string, len(e.scores))}
	for i, l := range e.set.labels {
		w.Scores[l] = e.scores[i]
		if m := e.set.models[i]; m != "" {
			w.Models[l] = m
		}
	}
	return w
}

// intern returns the shared label set whose n labels and models are
// at(0..n-1), making it the first time.
func (s *Stage) intern(n int, at func(int) (label, model string)) *labelSet {
	same := func(ls *labelSet) bool {
		if ls == nil || len(ls.labels) != n {
			return false
		}
		for i := range n {
			if l, m := at(i); ls.labels[i] != l || ls.models[i] != m {
				return false
			}
		}
		return true
	}
	if ls := s.last.Load(); same(ls) {
		return ls
	}
	s.setsMu.Lock()
	defer s.setsMu.Unlock()
	for _, ls := range s.sets {
		if same(ls) {
			s.last.Store(ls)
			return ls
		}
	}
	ls := &labelSet{labels: make([]string, n), models: make([]string, n)}
	for i := range n {
		ls.labels[i], ls.models[i] = at(i)
	}
	// Label sets differ only when models or their order change (a model
	// that attributes a label to a per-text model, a reload): a bound keeps
	// a pathological source from growing the list without end.
	if len(s.sets) < 64 {
		s.sets = append(s.sets, ls)
	}
	s.last.Store(ls)
	return ls
}

func copyScores(dst, src *pipeline.Item) {
	for _, sc := range src.Scores {
		dst.SetScore(sc.Label, sc.Score, src.Models[sc.Label])
	}
}
