package proxy

import (
	"context"
	"math"
	"sync"
	"time"
)

// LocalLimiter is a token bucket per key in this process (one replica).
type LocalLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLocalLimiter returns an empty limiter.
func NewLocalLimiter() *LocalLimiter { return &LocalLimiter{buckets: map[string]*bucket{}} }

// Allow implements Limiter.
func (l *LocalLimiter) Allow(_ context.Context, k Key) (bool, time.Duration, error) {
	if k.RPS <= 0 {
		return true, 0, nil
	}
	burst := float64(k.Burst)
	if burst <= 0 {
		burst = math.Max(1, k.RPS)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	b := l.buckets[k.ID]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		l.buckets[k.ID] = b
	}
	b.tokens = math.Min(burst, b.tokens+now.Sub(b.last).Seconds()*k.RPS)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0, nil
	}
	return false, time.Duration((1 - b.tokens) / k.RPS * float64(time.Second)), nil
}
