// Package resilience holds the circuit breaker and the backoff that the
// engine, the proxy and the Redis users share.
package resilience

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
// in a row it opens for Cooldown; then trial calls are let through one at a
// time (half-open): Successes of them in a row close it, one failure
// re-opens it. A service that comes back slowly (a Redis loading its data,
// a pool reconnecting) answers one call and fails the next; Successes above
// 1 keeps the breaker from flapping through that.
type Breaker struct {
	Threshold int
	Cooldown  time.Duration
	// Successes is the number of trials in a row that close a half-open
	// breaker; 0 means 1.
	Successes int
	// OnChange, when set, is called (outside the lock) on every state change.
	OnChange func(from, to BreakerState)

	mu       sync.Mutex
	state    BreakerState
	failures int
	okTrials int
	openedAt time.Time
	trial    bool
	now      func() time.Time // tests set a clock; nil is time.Now
}

func (b *Breaker) clock() time.Time {
	if b.now != nil {
		return b.now()
	}
	return time.Now()
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
		if b.clock().Sub(b.openedAt) < b.Cooldown {
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
		if b.state == BreakerHalfOpen {
			b.okTrials++
			if b.okTrials >= max(b.Successes, 1) {
				b.okTrials = 0
				change = b.setLocked(BreakerClosed)
			}
		}
	} else {
		b.failures++
		b.trial = false
		switch {
		case b.state == BreakerHalfOpen:
			b.okTrials = 0
			b.openedAt = b.clock()
			change = b.setLocked(BreakerOpen)
		case b.state == BreakerClosed && b.failures >= b.Threshold:
			b.openedAt = b.clock()
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
