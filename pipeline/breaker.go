package pipeline

import (
	"math/rand/v2"
	"sync"
	"time"
)

// BreakerState is a circuit breaker's state.
type BreakerState int

const (
	BreakerClosed BreakerState = iota
	BreakerOpen
	BreakerHalfOpen
)

func (s BreakerState) String() string {
	switch s {
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half_open"
	}
	return "closed"
}

// Breaker is a consecutive-failure circuit breaker. After Threshold failures
// in a row it opens for Cooldown; then one trial call is let through
// (half-open), whose result closes or re-opens it.
type Breaker struct {
	Threshold int
	Cooldown  time.Duration
	// OnChange, when set, is called (outside the lock) on every state change.
	OnChange func(from, to BreakerState)

	mu       sync.Mutex
	state    BreakerState
	failures int
	openedAt time.Time
	trial    bool
}

// Allow reports whether a call may proceed now. In half-open state only one
// caller at a time is allowed.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	var change func()
	defer func() {
		b.mu.Unlock()
		if change != nil {
			change()
		}
	}()
	switch b.state {
	case BreakerClosed:
		return true
	case BreakerOpen:
		if time.Since(b.openedAt) < b.Cooldown {
			return false
		}
		change = b.setLocked(BreakerHalfOpen)
		b.trial = true
		return true
	default: // half-open
		if b.trial {
			return false
		}
		b.trial = true
		return true
	}
}

// Done records the outcome of an allowed call.
func (b *Breaker) Done(ok bool) {
	b.mu.Lock()
	var change func()
	if ok {
		b.failures = 0
		b.trial = false
		if b.state != BreakerClosed {
			change = b.setLocked(BreakerClosed)
		}
	} else {
		b.failures++
		b.trial = false
		if b.state == BreakerHalfOpen || (b.state == BreakerClosed && b.failures >= b.Threshold) {
			b.openedAt = time.Now()
			change = b.setLocked(BreakerOpen)
		}
	}
	b.mu.Unlock()
	if change != nil {
		change()
	}
}

// State returns the current state.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

func (b *Breaker) setLocked(to BreakerState) func() {
	from := b.state
	b.state = to
	if b.OnChange == nil || from == to {
		return nil
	}
	return func() { b.OnChange(from, to) }
}

// Backoff is exponential backoff with full jitter.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Delay returns the wait before retry attempt n (0-based).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Initial
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	if d <= 0 {
		return 0
	}
	// Jitter keeps retries of many workers from arriving in lockstep.
	return time.Duration(rand.Int64N(int64(d))) + d/2
}
