package aggregate

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

// Store reads back the snapshot last saved under key: the newest committed
// value, or nil when there is none. Saving is not the Store's job: a
// snapshot is an output of the records it covers, produced by the pipeline's
// sink, so it commits with them.
type Store interface {
	Load(ctx context.Context, key string) ([]byte, error)
}

// A Settler is a Store that can wait until every write in flight when it
// was called (another member's transaction, or a crashed member's, until
// it is fenced or times out) has committed or aborted, so that Load then
// returns the newest committed state.
type Settler interface {
	Settle(ctx context.Context) error
}

// Options are what an Aggregator shares with the process.
type Options struct {
	Store Store
	// Group scopes snapshot keys, so that two pipelines reading the same
	// input (two consumer groups) keep apart.
	Group    string
	Registry prometheus.Registerer
	Logger   *slog.Logger
}

// counts are one window's numbers.
type counts struct {
	Messages   int64                       `json:"messages"`
	Decisions  map[string]int64            `json:"decisions,omitempty"`
	Categories map[string]map[string]int64 `json:"categories,omitempty"`
	Cross      map[string]int64            `json:"cross,omitempty"`
	Flags      map[string]int64            `json:"flags,omitempty"`
	ScoreSum   map[string]float64          `json:"score_sum,omitempty"`
	Scored     map[string]int64            `json:"scored,omitempty"`
}

func bump[K comparable, V int64 | float64](m *map[K]V, k K, v V) {
	if *m == nil {
		*m = make(map[K]V)
	}
	(*m)[k] += v
}

type windowKey struct {
	Size   time.Duration
	Start  int64 // unix seconds
	Tenant string
}

// partState is one input partition's open windows.
type partState struct {
	Offset    int64 // the last offset folded in; -1 before any
	Watermark int64 // newest event time seen, unix milliseconds
	Windows   map[windowKey]*counts
}

// snapshot is partState as saved.
type snapshot struct {
	V         int              `json:"v"`
	Offset    int64            `json:"offset"`
	Watermark int64            `json:"watermark_ms"`
	Windows   []snapshotWindow `json:"windows"`
}

type snapshotWindow struct {
	SizeS  int64   `json:"size_s"`
	Start  int64   `json:"start"`
	Tenant string  `json:"tenant,omitempty"`
	Counts *counts `json:"counts"`
}

// Aggregator folds verdicts into windows. It implements pipeline.Folder.
type Aggregator struct {
	cfg Config
	o   Options
	m   *metrics

	mu    sync.Mutex
	parts map[pipeline.Partition]*partState
}

// New builds an aggregator; cfg must be valid and defaulted.
func New(cfg Config, o Options) *Aggregator {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Aggregator{cfg: cfg, o: o, m: newMetrics(o.Registry), parts: map[pipeline.Partition]*partState{}}
	for _, w := range cfg.Windows {
		a.m.late.WithLabelValues(sizeName(w))
		a.m.windows.WithLabelValues(sizeName(w))
	}
	return a
}

// Forget implements pipeline.Folder.
func (a *Aggregator) Forget(parts []pipeline.Partition) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if parts == nil {
		clear(a.parts)
		return
	}
	for _, p := range parts {
		delete(a.parts, p)
	}
}

func (a *Aggregator) key(p pipeline.Partition) string { return a.o.Group + "/" + p.String() }

// state returns the partition's state, restoring it from the store the
// first time. A store that cannot be read is retried for a while: starting
// empty would count the partition's open windows short.
func (a *Aggregator) state(p pipeline.Partition) *partState {
	a.mu.Lock()
	st := a.parts[p]
	a.mu.Unlock()
	if st != nil {
		return st
	}
	st = &partState{Offset: -1, Windows: map[windowKey]*counts{}}
	if a.o.Store != nil {
		var b []byte
		var err error
		for attempt, wait := 0, 100*time.Millisecond; attempt < 8; attempt, wait = attempt+1, min(wait*2, 5*time.Second) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			b, err = a.o.Store.Load(ctx, a.key(p))
			cancel()
			if err == nil {
				break
			}
			a.o.Logger.Warn("could not read the aggregates state; retrying", "partition", p.String(), "err", err)
			time.Sleep(wait)
		}
		switch {
		case err != nil:
			a.m.restoreFailures.Inc()
			a.o.Logger.Error("starting the partition's aggregates empty: its state could not be read", "partition", p.String(), "err", err)
		case b != nil:
			if err := st.decode(b); err != nil {
				a.m.restoreFailures.Inc()
				a.o.Logger.Error("starting the partition's aggregates empty: its state is corrupt", "partition", p.String(), "err", err)
				st = &partState{Offset: -1, Windows: map[windowKey]*counts{}}
			}
		}
	}
	a.mu.Lock()
	a.parts[p] = st
	a.mu.Unlock()
	return st
}

// Prepare implements pipeline.Preparer: before an exactly-once
// transaction, partitions seen for the first time are restored after the
// store settles, since a snapshot committed after a still-open
// transaction's first write is not yet readable.
func (a *Aggregator) Prepare(parts []pipeline.Partition) {
	var fresh []pipeline.Partition
	a.mu.Lock()
	for _, p := range parts {
		if a.parts[p] == nil {
			fresh = append(fresh, p)
		}
	}
	a.mu.Unlock()
	if len(fresh) == 0 {
		return
	}
	if s, ok := a.o.Store.(Settler); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err := s.Settle(ctx)
		cancel()
		if err != nil {
			a.o.Logger.Warn("aggregates state did not settle; restoring what is committed", "err", err)
		}
	}
	for _, p := range fresh {
		a.state(p)
	}
}

// Fold implements pipeline.Folder.
func (a *Aggregator) Fold(p pipeline.Partition, items []*pipeline.Item) []pipeline.Output {
	st := a.state(p)
	changed := false
	for _, it := range items {
		if it.Record.Offset <= st.Offset {
			continue // replayed after a crash: already counted
		}
		st.Offset = it.Record.Offset
		changed = true
		if it.Err != nil || it.Msg == nil {
			continue
		}
		t := eventTime(it)
		st.Watermark = max(st.Watermark, t.UnixMilli())
		tenant := ""
		if *a.cfg.ByTenant {
			tenant = it.Msg.Tenant
		}
		for _, w := range a.cfg.Windows {
			start := t.Truncate(w)
			if start.Add(w+a.cfg.Lateness).UnixMilli() <= st.Watermark {
				a.m.late.WithLabelValues(sizeName(w)).Inc()
				continue
			}
			k := windowKey{w, start.Unix(), tenant}
			c := st.Windows[k]
			if c == nil {
				c = &counts{}
				st.Windows[k] = c
			}
			a.add(c, it)
		}
	}
	if !changed {
		return nil
	}
	out := a.closeWindows(p, st)
	snap, err := st.encode()
	if err != nil {
		a.o.Logger.Error("could not encode the aggregates state", "err", err)
		return out
	}
	a.m.watermark.WithLabelValues(p.Topic, fmt.Sprint(p.Partition)).Set(float64(st.Watermark) / 1000)
	return append(out, pipeline.Output{Topic: a.cfg.StateTopic, Key: []byte(a.key(p)), Value: snap})
}

func (a *Aggregator) add(c *counts, it *pipeline.Item) {
	c.Messages++
	d := it.Decision
	if d == "" {
		d = contract.DecisionAllow
	}
	bump(&c.Decisions, string(d), 1)
	for _, cat := range it.Categories {
		if c.Categories == nil {
			c.Categories = map[string]map[string]int64{}
		}
		m := c.Categories[cat.Model]
		bump(&m, cat.Value, 1)
		c.Categories[cat.Model] = m
	}
	if len(a.cfg.Cross) > 0 {
		vals := make([]string, len(a.cfg.Cross))
		for i, model := range a.cfg.Cross {
			if vals[i] = it.Category(model); vals[i] == "" {
				vals[i] = contract.CategoryOther
			}
		}
		bump(&c.Cross, strings.Join(vals, "/"), 1)
	}
	for _, f := range it.Flags {
		bump(&c.Flags, f, 1)
	}
	for _, s := range it.Scores {
		bump(&c.ScoreSum, s.Label, s.Score)
		bump(&c.Scored, s.Label, 1)
	}
}

// closeWindows emits and drops the windows the watermark has passed, in
// start order so that a consumer sees time move forward.
func (a *Aggregator) closeWindows(p pipeline.Partition, st *partState) []pipeline.Output {
	var done []windowKey
	for k := range st.Windows {
		if time.Unix(k.Start, 0).Add(k.Size+a.cfg.Lateness).UnixMilli() <= st.Watermark {
			done = append(done, k)
		}
	}
	sort.Slice(done, func(i, j int) bool {
		x, y := done[i], done[j]
		if x.Start != y.Start {
			return x.Start < y.Start
		}
		if x.Size != y.Size {
			return x.Size < y.Size
		}
		return x.Tenant < y.Tenant
	})
	out := make([]pipeline.Output, 0, len(done))
	for _, k := range done {
		c := st.Windows[k]
		delete(st.Windows, k)
		rec := Record{V: 1, Tenant: k.Tenant, Source: Source{Topic: p.Topic, Partition: p.Partition},
			Window:   Window{Size: sizeName(k.Size), Start: time.Unix(k.Start, 0).UTC(), End: time.Unix(k.Start, 0).Add(k.Size).UTC()},
			Messages: c.Messages, Decisions: c.Decisions, Categories: c.Categories, Cross: c.Cross, Flags: c.Flags}
		if len(c.ScoreSum) > 0 {
			rec.MeanScores = make(map[string]float64, len(c.ScoreSum))
			for l, s := range c.ScoreSum {
				rec.MeanScores[l] = roundScore(s / float64(c.Scored[l]))
			}
		}
		v, err := json.Marshal(rec)
		if err != nil {
			a.o.Logger.Error("could not encode a window", "err", err)
			continue
		}
		key := fmt.Sprintf("%s/%s/%s/%s", rec.Window.Size, rec.Window.Start.Format(time.RFC3339), k.Tenant, p)
		out = append(out, pipeline.Output{Topic: a.cfg.Topic, Key: []byte(key), Value: v})
		a.m.observe(rec, c)
	}
	return out
}

func roundScore(x float64) float64 { return float64(int64(x*1e4+0.5)) / 1e4 }

// eventTime is the message's ts when it parses, else the record's
// timestamp, else now.
func eventTime(it *pipeline.Item) time.Time {
	if it.Msg.TS != "" {
		if t, err := time.Parse(time.RFC3339Nano, it.Msg.TS); err == nil {
			return t
		}
	}
	if !it.Record.Timestamp.IsZero() {
		return it.Record.Timestamp
	}
	return time.Now()
}

// sizeName is a window size as people write it: 1m, 1h, 90s.
func sizeName(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

func (st *partState) encode() ([]byte, error) {
	s := snapshot{V: 1, Offset: st.Offset, Watermark: st.Watermark, Windows: make([]snapshotWindow, 0, len(st.Windows))}
	for k, c := range st.Windows {
		s.Windows = append(s.Windows, snapshotWindow{int64(k.Size / time.Second), k.Start, k.Tenant, c})
	}
	sort.Slice(s.Windows, func(i, j int) bool {
		x, y := s.Windows[i], s.Windows[j]
		if x.Start != y.Start {
			return x.Start < y.Start
		}
		if x.SizeS != y.SizeS {
			return x.SizeS < y.SizeS
		}
		return x.Tenant < y.Tenant
	})
	return json.Marshal(s)
}

func (st *partState) decode(b []byte) error {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s.V != 1 {
		return fmt.Errorf("snapshot version %d, this build reads 1", s.V)
	}
	st.Offset, st.Watermark = s.Offset, s.Watermark
	for _, w := range s.Windows {
		if w.Counts == nil || w.SizeS <= 0 {
			return fmt.Errorf("snapshot window %+v is malformed", w)
		}
		st.Windows[windowKey{time.Duration(w.SizeS) * time.Second, w.Start, w.Tenant}] = w.Counts
	}
	return nil
}
