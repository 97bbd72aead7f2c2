package resilience

import (
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	type step struct {
		ok    bool // the outcome of an allowed call
		sleep time.Duration
		want  BreakerState // after the step
	}
	tests := []struct {
		name  string
		b     *Breaker
		steps []step
	}{
		{"opens after Threshold failures, one trial closes", &Breaker{Threshold: 2, Cooldown: 10 * time.Millisecond}, []step{
			{false, 0, BreakerClosed}, {false, 0, BreakerOpen}, {true, 15 * time.Millisecond, BreakerClosed},
		}},
		{"Successes trials in a row close it", &Breaker{Threshold: 1, Cooldown: 10 * time.Millisecond, Successes: 3}, []step{
			{false, 0, BreakerOpen}, {true, 15 * time.Millisecond, BreakerHalfOpen}, {true, 0, BreakerHalfOpen}, {true, 0, BreakerClosed},
		}},
		{"a failed trial re-opens it and starts the count again", &Breaker{Threshold: 1, Cooldown: 10 * time.Millisecond, Successes: 2}, []step{
			{false, 0, BreakerOpen}, {true, 15 * time.Millisecond, BreakerHalfOpen}, {false, 0, BreakerOpen},
			{true, 15 * time.Millisecond, BreakerHalfOpen}, {true, 0, BreakerClosed},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b
			for i, s := range tt.steps {
				time.Sleep(s.sleep)
				if !b.Allow() {
					t.Fatalf("step %d: call refused in state %v", i, b.State())
				}
				b.Done(s.ok)
				if got := b.State(); got != s.want {
					t.Fatalf("step %d: state %v, want %v", i, got, s.want)
				}
			}
		})
	}
}

// The breaker waits its cooldown before a trial, measured on its clock.
func TestBreakerCooldown(t *testing.T) {
	now := time.Unix(0, 0)
	b := &Breaker{Threshold: 1, Cooldown: 20 * time.Millisecond, now: func() time.Time { return now }}
	b.Allow()
	b.Done(false)
	for i, tt := range []struct {
		after time.Duration
		allow bool
		ok    bool
	}{
		{19 * time.Millisecond, false, false},
		{20 * time.Millisecond, true, false}, // the trial fails: open again
		{19 * time.Millisecond, false, false},
		{20 * time.Millisecond, true, true},
	} {
		opened := now
		now = opened.Add(tt.after)
		if got := b.Allow(); got != tt.allow {
			t.Fatalf("step %d: Allow()=%v %s after opening, want %v", i, got, tt.after, tt.allow)
		}
		if tt.allow {
			b.Done(tt.ok)
		} else {
			now = opened
		}
	}
	if b.State() != BreakerClosed {
		t.Fatalf("state %v after a good trial", b.State())
	}
}
