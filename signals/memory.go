package signals

import (
	"context"
	"sync"
	"time"
)

// Memory is the in-process Store: one replica's view, lost on restart.
type Memory struct {
	mu       sync.Mutex
	bands    map[uint64]memBand
	clusters map[string]*memCluster
	authors  map[string]*memAuthor
	ops      int
}

type memBand struct {
	cluster string
	expires time.Time
}

type memCluster struct {
	size    int64
	authors map[string]bool
	expires time.Time
}

type memAuthor struct {
	first  time.Time
	minute int64
	count  int64
}

// NewMemory returns an empty in-process store.
func NewMemory() *Memory {
	return &Memory{bands: map[uint64]memBand{}, clusters: map[string]*memCluster{}, authors: map[string]*memAuthor{}}
}

// Join implements Store.
func (m *Memory) Join(_ context.Context, obs []Observation, window time.Duration) ([]Cluster, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.sweep(now)
	out := make([]Cluster, len(obs))
	for i, o := range obs {
		id := ""
		for _, b := range o.Bands {
			if e, ok := m.bands[b]; ok && now.Before(e.expires) {
				id = e.cluster
				break
			}
		}
		if id == "" {
			id = clusterID(o.Bands[0])
		}
		// Members add their buckets too, so a campaign whose copies drift
		// (one typo more each) stays one cluster; banding is strict enough
		// that unrelated texts rarely share a bucket to chain through.
		for _, b := range o.Bands {
			if e, ok := m.bands[b]; !ok || !now.Before(e.expires) || e.cluster == id {
				m.bands[b] = memBand{cluster: id, expires: now.Add(window)}
			}
		}
		c := m.clusters[id]
		if c == nil || !now.Before(c.expires) {
			c = &memCluster{authors: map[string]bool{}}
			m.clusters[id] = c
		}
		c.size++
		c.authors[o.Author] = true
		c.expires = now.Add(window)
		out[i] = Cluster{ID: id, Size: c.size, Authors: int64(len(c.authors))}
	}
	return out, nil
}

// Authors implements Store.
func (m *Memory) Authors(_ context.Context, authors []string, now time.Time) ([]AuthorStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
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

// sweep drops expired entries now and then, so memory follows the window.
func (m *Memory) sweep(now time.Time) {
	m.ops++
	if m.ops%4096 != 0 {
		return
	}
	for b, e := range m.bands {
		if !now.Before(e.expires) {
			delete(m.bands, b)
		}
	}
	for id, c := range m.clusters {
		if !now.Before(c.expires) {
			delete(m.clusters, id)
		}
	}
	if len(m.authors) > 1_000_000 {
		m.authors = map[string]*memAuthor{} // bound memory; first-seen restarts
	}
}
