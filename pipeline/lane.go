package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
)

// lane keeps one partition's items in offset order. Items are processed in
// any order; the lane releases them to the sink strictly in offset order and
// advances the partition's commit mark only over items whose every output the
// sink acknowledged.
type lane struct {
	part Partition

	// order serialises hand-overs to the sink so they keep offset order;
	// it is taken before mu and never while mu is held.
	order sync.Mutex

	mu       sync.Mutex
	q        []*Item // offset order; q[head:] are live
	head     int     // index of the oldest unacknowledged item
	released int     // index past the last item handed to the sink
	mark     int64   // next offset to consume; -1 until something is acked
	epoch    int32
	closed   bool          // revoked: no more commits from this lane
	revoked  atomic.Bool   // closed, readable without mu
	idle     chan struct{} // closed and replaced when the lane becomes empty
	seq      int64         // the next item's sequence number

	// turn is the sequence number of the next item allowed through the
	// ordered stages; wake is closed and replaced each time it moves.
	turnMu sync.Mutex
	turn   int64
	wake   chan struct{}
}

func newLane(p Partition) *lane {
	return &lane{part: p, mark: -1, idle: make(chan struct{}), wake: make(chan struct{})}
}

func (l *lane) add(it *Item) {
	l.mu.Lock()
	it.lane = l
	it.seq = l.seq
	l.seq++
	l.q = append(l.q, it)
	l.mu.Unlock()
}

// ready marks items (all of this lane) processed and passes the items that may now go to the sink,
// in offset order. The caller must hand them over in that order before it
// calls ready again for this lane: release holds the lane's order.
func (l *lane) ready(items []*Item, release func([]*Item)) {
	// The sink must see this lane's records in offset order while other
	// workers ready later items; acks may arrive synchronously from release,
	// so mu is not held across it.
	l.order.Lock()
	defer l.order.Unlock()
	l.mu.Lock()
	for _, it := range items {
		it.done = true
	}
	start := l.released
	for l.released < len(l.q) && l.q[l.released].done {
		l.released++
	}
	var out []*Item
	if l.released > start {
		out = append(out, l.q[start:l.released]...)
	}
	l.mu.Unlock()
	if len(out) > 0 {
		release(out)
	}
}

// ack marks it acknowledged and reports the new commit mark, if it moved.
func (l *lane) ack(it *Item) (moved bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	it.acked = true
	for l.head < l.released && l.q[l.head].acked {
		done := l.q[l.head]
		l.mark = done.Record.Offset + 1
		l.epoch = done.Record.LeaderEpoch
		l.q[l.head] = nil
		l.head++
		moved = true
	}
	if l.head == len(l.q) {
		l.q = l.q[:0]
		l.head, l.released = 0, 0
		close(l.idle)
		l.idle = make(chan struct{})
	} else if l.head > 1024 && l.head*2 > len(l.q) {
		n := copy(l.q, l.q[l.head:])
		for i := n; i < len(l.q); i++ {
			l.q[i] = nil
		}
		l.q = l.q[:n]
		l.released -= l.head
		l.head = 0
	}
	return moved
}

// pending is the number of items not yet acknowledged.
func (l *lane) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.q) - l.head
}

// waitIdle returns a channel closed when the lane next becomes empty, or nil
// when it is empty now.
func (l *lane) waitIdle() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.q) == l.head {
		return nil
	}
	return l.idle
}

// commit returns the lane's commit mark, and false when nothing was acked
// yet or the lane was revoked.
func (l *lane) commit() (Commit, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mark < 0 || l.closed {
		return Commit{}, false
	}
	return Commit{Partition: l.part, Offset: l.mark, LeaderEpoch: l.epoch}, true
}

func (l *lane) isClosed() bool { return l.revoked.Load() }

func (l *lane) close() {
	l.revoked.Store(true)
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}

// waitTurn blocks until every item of the lane before sequence number first
// has passed the ordered stages, or until stop is closed or ctx is done.
func (l *lane) waitTurn(ctx context.Context, stop <-chan struct{}, first int64) {
	for {
		l.turnMu.Lock()
		if l.turn >= first {
			l.turnMu.Unlock()
			return
		}
		wake := l.wake
		l.turnMu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return
		case <-stop:
			return
		}
	}
}

// passTurn lets the items after sequence number last through.
func (l *lane) passTurn(last int64) {
	l.turnMu.Lock()
	defer l.turnMu.Unlock()
	if last+1 > l.turn {
		l.turn = last + 1
		close(l.wake)
		l.wake = make(chan struct{})
	}
}
