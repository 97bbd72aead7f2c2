package signals

import (
	"context"
	"sync"
	"time"
)

// Memory is the in-process Store: one replica's view, lost on restart.
// State lives in two generations that rotate every half window (or when
// the current one grows past its cap), so memory follows the traffic of
// one window and old campaigns fall away without a sweep.
type Memory struct {
	mu      sync.Mutex
	cur     *generation
	prev    *generation
	started time.Time
	max     int
	authors map[string]*memAuthor
}

// A cluster is known by the first band key of the message that started it
// (its ID is that key, formatted): numbers, not strings, keep the maps of
// the hot path small and their lookups cheap.
type generation struct {
	bands    map[uint64]uint64
	clusters map[uint64]*memCluster
}

type memCluster struct {
	size    int64
	first   string          // the first author; others go to more
	more    map[string]bool // allocated at the second distinct author
	touched time.Time
}

type memAuthor struct {
	first  time.Time
	minute int64
	count  int64
}

// maxBands caps one generation's band buckets (20 per message): about
// 200,000 messages a half window before an early rotation.
const maxBands = 4_000_000

// NewMemory returns an empty in-process store.
func NewMemory() *Memory {
	return &Memory{cur: newGeneration(), prev: newGeneration(), max: maxBands, authors: map[string]*memAuthor{}}
}

func newGeneration() *generation {
	return &generation{bands: map[uint64]uint64{}, clusters: map[uint64]*memCluster{}}
}

// Join implements Store.
func (m *Memory) Join(_ context.Context, obs []Observation, window time.Duration) ([]Cluster, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.started.IsZero() {
		m.started = now
	}
	if now.Sub(m.started) > window/2 || len(m.cur.bands) > m.max {
		m.prev, m.cur, m.started = m.cur, newGeneration(), now
	}
	out := make([]Cluster, len(obs))
	for i, o := range obs {
		var id uint64
		k := len(o.Bands) // the bands before k are in neither generation
		for j, b := range o.Bands {
			if v, ok := m.cur.bands[b]; ok {
				id, k = v, j
				break
			}
			if v, ok := m.prev.bands[b]; ok {
				id, k = v, j
				break
			}
		}
		if k == len(o.Bands) {
			id = o.Bands[0]
		}
		// Members add their buckets too, so a campaign whose copies drift
		// (one typo more each) stays one cluster; banding is strict enough
		// that unrelated texts rarely share a bucket to chain through.
		for j, b := range o.Bands {
			if j < k {
				m.cur.bands[b] = id // known to be free: no second lookup
				continue
			}
			if v, ok := m.cur.bands[b]; !ok || v == id {
				m.cur.bands[b] = id
			}
		}
		c := m.cur.clusters[id]
		if c == nil {
			c = m.prev.clusters[id]
			if c != nil && now.Sub(c.touched) > window {
				c = nil
			}
			if c == nil {
				c = &memCluster{first: o.Author}
			}
			m.cur.clusters[id] = c
		}
		c.size++
		c.touched = now
		if o.Author != c.first && !c.more[o.Author] {
			if c.more == nil {
				c.more = map[string]bool{}
			}
			c.more[o.Author] = true
		}
		out[i] = Cluster{ID: clusterID(id), Size: c.size, Authors: int64(1 + len(c.more))}
	}
	return out, nil
}

// Authors implements Store.
func (m *Memory) Authors(_ context.Context, authors []string, now time.Time) ([]AuthorStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.authors) > 1_000_000 {
		m.authors = map[string]*memAuthor{} // bound memory; first sight restarts
	}
	minute := now.Unix() / 60
	out := make([]AuthorStats, len(authors))
	for i, a := range authors {
		s := m.authors[a]
		if s == nil {
			s = &memAuthor{first: now}
			m.authors[a] = s
		}
		if s.minute != minute {
			s.minute, s.count = minute, 0
		}
		s.count++
		out[i] = AuthorStats{Rate: s.count, FirstSeen: s.first}
	}
	return out, nil
}
