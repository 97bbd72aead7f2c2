package signals

import (
	"context"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
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
	authors map[uint64]memAuthor // by the author's hash
}

// A cluster is known by the first band key of the message that started it
// (its ID is that key, formatted), an author by a hash of the name.
// Numbers, not strings, keep the maps of the hot path small and their
// lookups cheap, and maps whose keys and values hold no pointers are not
// scanned by the garbage collector: with a window of traffic in them (20
// buckets, a cluster and an author a message), pointers were the
// collector's longest marks and the pipeline's latency tail.
type generation struct {
	bands    map[uint64]uint64
	clusters map[uint64]memCluster
	// more holds, for the few clusters with a second author, the hashes of
	// the authors besides the first.
	more map[uint64]map[uint64]struct{}
}

type memCluster struct {
	size    int64
	first   uint64 // the first author's hash; the others are in more
	touched int64  // Unix nanoseconds
}

type memAuthor struct {
	first  int64 // Unix nanoseconds
	minute int64
	count  int64
}

func authorKey(a string) uint64 { return xxhash.Sum64String(a) }

// maxBands caps one generation's band buckets (20 per message): about
// 200,000 messages a half window before an early rotation.
const maxBands = 4_000_000

// NewMemory returns an empty in-process store.
func NewMemory() *Memory {
	return &Memory{cur: newGeneration(), prev: newGeneration(), max: maxBands, authors: map[uint64]memAuthor{}}
}

func newGeneration() *generation {
	return &generation{bands: map[uint64]uint64{}, clusters: map[uint64]memCluster{}, more: map[uint64]map[uint64]struct{}{}}
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
		author := authorKey(o.Author)
		c, ok := m.cur.clusters[id]
		more := m.cur.more[id]
		if !ok {
			c, ok = m.prev.clusters[id]
			if ok && now.UnixNano()-c.touched > int64(window) {
				ok = false
			}
			if ok {
				if more = m.prev.more[id]; more != nil {
					m.cur.more[id] = more
				}
			} else {
				c, more = memCluster{first: author}, nil
			}
		}
		c.size++
		c.touched = now.UnixNano()
		if author != c.first {
			if _, seen := more[author]; !seen {
				if more == nil {
					more = map[uint64]struct{}{}
					m.cur.more[id] = more
				}
				more[author] = struct{}{}
			}
		}
		m.cur.clusters[id] = c
		out[i] = Cluster{ID: clusterID(id), Size: c.size, Authors: int64(1 + len(more))}
	}
	return out, nil
}

// Authors implements Store.
func (m *Memory) Authors(_ context.Context, authors []string, now time.Time) ([]AuthorStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.authors) > 1_000_000 {
		m.authors = map[uint64]memAuthor{} // bound memory; first sight restarts
	}
	minute := now.Unix() / 60
	out := make([]AuthorStats, len(authors))
	for i, a := range authors {
		k := authorKey(a)
		s, ok := m.authors[k]
		if !ok {
			s = memAuthor{first: now.UnixNano()}
		}
		if s.minute != minute {
			s.minute, s.count = minute, 0
		}
		s.count++
		m.authors[k] = s
		out[i] = AuthorStats{Rate: s.count, FirstSeen: time.Unix(0, s.first)}
	}
	return out, nil
}
