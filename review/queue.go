package review

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sieve-stream/sieve/contract"
)

// Item is one message waiting for a moderator: its verdict as the review
// route wrote it, with the message inside.
type Item struct {
	ID       string                     `json:"id"`
	Labels   map[string]float64         `json:"labels"`
	Flags    []string                   `json:"flags"`
	Decision contract.Decision          `json:"decision"`
	Models   map[string]string          `json:"models"`
	Signals  map[string]float64         `json:"signals"`
	Findings []contract.Finding         `json:"findings"`
	Rewrite  *string                    `json:"rewrite"`
	Message  contract.Message           `json:"message"`
	Meta     map[string]json.RawMessage `json:"-"`

	// Received is when the console read it; the queue is oldest first
	// among equals.
	Received time.Time `json:"-"`
	// uncertainty is the distance of the score nearest its threshold: the
	// smallest goes first, where a person's answer teaches the most.
	uncertainty float64
	campaign    float64
}

// ParseItem reads a review record (a verdict with its message).
func ParseItem(value []byte, thresholds map[string]float64) (*Item, error) {
	var it Item
	if err := json.Unmarshal(value, &it); err != nil {
		return nil, fmt.Errorf("review record: %w", err)
	}
	if it.ID == "" {
		return nil, fmt.Errorf("review record: no id")
	}
	it.uncertainty = 1
	for l, s := range it.Labels {
		th, ok := thresholds[l]
		if !ok {
			th = 0.5
		}
		it.uncertainty = min(it.uncertainty, math.Abs(s-th))
	}
	it.campaign = it.Signals["campaign_size"]
	return &it, nil
}

// before orders the queue: most uncertain first, then the largest
// campaign, then the oldest.
func (a *Item) before(b *Item) bool {
	if a.uncertainty != b.uncertainty {
		return a.uncertainty < b.uncertainty
	}
	if a.campaign != b.campaign {
		return a.campaign > b.campaign
	}
	return a.Received.Before(b.Received)
}

// Leaser hands an item to one moderator at a time. Claim returns false
// while another holds an unexpired lease on it. Implementations: the
// in-process MemoryLeaser, and RedisLeaser for several consoles.
type Leaser interface {
	Claim(ctx context.Context, id, who string, ttl time.Duration) (bool, error)
	Release(ctx context.Context, id, who string) error
}

// MemoryLeaser keeps leases in this process.
type MemoryLeaser struct {
	mu     sync.Mutex
	leases map[string]lease
	now    func() time.Time
}

type lease struct {
	who   string
	until time.Time
}

// NewMemoryLeaser returns an empty leaser.
func NewMemoryLeaser() *MemoryLeaser {
	return &MemoryLeaser{leases: map[string]lease{}, now: time.Now}
}

// Claim implements Leaser; the holder may claim again to renew.
func (m *MemoryLeaser) Claim(_ context.Context, id, who string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if l, ok := m.leases[id]; ok && l.who != who && now.Before(l.until) {
		return false, nil
	}
	m.leases[id] = lease{who, now.Add(ttl)}
	return true, nil
}

// Release implements Leaser.
func (m *MemoryLeaser) Release(_ context.Context, id, who string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[id]; ok && l.who == who {
		delete(m.leases, id)
	}
	return nil
}

// Queue holds the items not yet decided and who holds which.
type Queue struct {
	leaser Leaser
	ttl    time.Duration

	mu      sync.Mutex
	items   map[string]*Item
	decided map[string]bool
	holding map[string]string // reviewer -> item id
	claims  map[string]string // item id -> the current claim's token
	skipped map[string]map[string]bool
}

// NewQueue returns an empty queue whose claims last ttl.
func NewQueue(l Leaser, ttl time.Duration) *Queue {
	return &Queue{leaser: l, ttl: ttl, items: map[string]*Item{}, decided: map[string]bool{},
		holding: map[string]string{}, claims: map[string]string{}, skipped: map[string]map[string]bool{}}
}

// Add puts an item in the queue unless it was decided already (the
// decisions topic is read first) or is there.
func (q *Queue) Add(it *Item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.decided[it.ID] || q.items[it.ID] != nil {
		return
	}
	if it.Received.IsZero() {
		it.Received = time.Now()
	}
	q.items[it.ID] = it
}

// MarkDecided removes the item for good and releases its lease.
func (q *Queue) MarkDecided(ctx context.Context, id string) {
	q.mu.Lock()
	q.decided[id] = true
	delete(q.items, id)
	claim := q.claims[id]
	delete(q.claims, id)
	for who, held := range q.holding {
		if held == id {
			delete(q.holding, who)
		}
	}
	for _, s := range q.skipped {
		delete(s, id)
	}
	q.mu.Unlock()
	if claim != "" {
		_ = q.leaser.Release(ctx, id, claim)
	}
}

// Next returns the item the reviewer holds, renewing its lease, or claims
// the first one in queue order that nobody holds; nil when there is none.
// The claim token names this claim: a decision carries it, and one claim
// gives one decision.
func (q *Queue) Next(ctx context.Context, who string) (*Item, string, error) {
	q.mu.Lock()
	if id, ok := q.holding[who]; ok {
		it, claim := q.items[id], q.claims[id]
		q.mu.Unlock()
		if it != nil && claim != "" {
			if ok, err := q.leaser.Claim(ctx, id, claim, q.ttl); err != nil || ok {
				return it, claim, err
			}
		}
		q.mu.Lock()
		delete(q.holding, who)
	}
	tried := map[string]bool{}
	for {
		var best *Item
		for id, it := range q.items {
			if tried[id] || q.skipped[who][id] {
				continue
			}
			if best == nil || it.before(best) {
				best = it
			}
		}
		if best == nil {
			q.mu.Unlock()
			return nil, "", nil
		}
		tried[best.ID] = true
		q.mu.Unlock()
		// The lease's owner is the claim itself, not the reviewer: the same
		// reviewer in two consoles holds two claims, and only one can
		// decide.
		claim := newToken()
		ok, err := q.leaser.Claim(ctx, best.ID, claim, q.ttl)
		if err != nil {
			return nil, "", err
		}
		q.mu.Lock()
		if ok && q.items[best.ID] != nil {
			// A lease that expired elsewhere leaves a stale holder: the
			// item is this reviewer's now.
			for w, held := range q.holding {
				if held == best.ID {
					delete(q.holding, w)
				}
			}
			q.holding[who] = best.ID
			q.claims[best.ID] = claim
			q.mu.Unlock()
			return best, claim, nil
		}
	}
}

// newToken is 128 random bits, hex.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Holds reports whether who holds claim, a valid claim on id.
func (q *Queue) Holds(ctx context.Context, id, who, claim string) bool {
	q.mu.Lock()
	held := q.holding[who] == id && q.items[id] != nil && q.claims[id] == claim
	q.mu.Unlock()
	if !held {
		return false
	}
	ok, err := q.leaser.Claim(ctx, id, claim, q.ttl)
	return err == nil && ok
}

// Skip hands the item back; this reviewer will not be given it again.
func (q *Queue) Skip(ctx context.Context, id, who string) error {
	q.mu.Lock()
	if q.items[id] == nil || q.holding[who] != id {
		q.mu.Unlock()
		return nil
	}
	delete(q.holding, who)
	claim := q.claims[id]
	delete(q.claims, id)
	if q.skipped[who] == nil {
		q.skipped[who] = map[string]bool{}
	}
	q.skipped[who][id] = true
	q.mu.Unlock()
	return q.leaser.Release(ctx, id, claim)
}

// Item returns the queued item of that id.
func (q *Queue) Item(id string) *Item {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.items[id]
}

// Health is the queue's state for its page and metrics.
type Health struct {
	Depth     int
	Held      int
	OldestAge time.Duration
	Decided   int
}

// Health returns the queue's state now.
func (q *Queue) Health() Health {
	q.mu.Lock()
	defer q.mu.Unlock()
	h := Health{Depth: len(q.items), Held: len(q.holding), Decided: len(q.decided)}
	now := time.Now()
	for _, it := range q.items {
		h.OldestAge = max(h.OldestAge, now.Sub(it.Received))
	}
	return h
}
