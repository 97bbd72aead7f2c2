package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/resilience"
)

func (e *Engine) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case batch := <-e.batches:
			e.process(ctx, batch)
		}
	}
}

func (e *Engine) process(ctx context.Context, batch []*Item) {
	e.m.BatchSize.Observe(float64(len(batch)))
	for _, it := range batch {
		e.decode(it)
	}
	live := batch
	var turns []laneRange // non-nil once the batch holds its partitions' turn
	passed := false
	for i, st := range e.opts.Stages {
		live = alive(live)
		if len(live) == 0 {
			break
		}
		if i == e.firstOrdered {
			turns = e.waitTurns(ctx, batch)
		}
		e.runStage(ctx, st, e.breakers[i], live, i == 0)
		if i == e.lastOrdered {
			passTurns(turns)
			passed = true
		}
	}
	if e.firstOrdered >= 0 && !passed {
		// The batch left before (or while) the ordered stages ran: its items
		// still take their turn, or later batches would wait for them forever.
		if turns == nil {
			turns = e.waitTurns(ctx, batch)
		}
		passTurns(turns)
	}
	now := time.Now()
	for _, it := range batch {
		e.encode(it, now)
	}
	// Hand items to their lanes a run at a time: a batch mostly holds runs
	// of one partition, and each hand-over takes the lane's locks.
	for start := 0; start < len(batch); {
		end := start + 1
		for end < len(batch) && batch[end].lane == batch[start].lane {
			end++
		}
		batch[start].lane.ready(batch[start:end], e.release)
		start = end
	}
}

// laneRange is the sequence numbers a batch holds of one lane: a batch
// holds a contiguous run of each lane's items, since the batcher takes
// items in the order the lanes number them and sends batches in order.
type laneRange struct {
	l           *lane
	first, last int64
}

// waitTurns waits until the ordered stages have seen every item before the
// batch's in each of its lanes, and returns the batch's ranges.
func (e *Engine) waitTurns(ctx context.Context, batch []*Item) []laneRange {
	turns := make([]laneRange, 0, 1)
	for _, it := range batch {
		found := false
		for j := range turns {
			if r := &turns[j]; r.l == it.lane {
				r.first, r.last = min(r.first, it.seq), max(r.last, it.seq)
				found = true
				break
			}
		}
		if !found {
			turns = append(turns, laneRange{it.lane, it.seq, it.seq})
		}
	}
	for _, r := range turns {
		r.l.waitTurn(ctx, e.aborted, r.first)
	}
	return turns
}

func passTurns(turns []laneRange) {
	for _, r := range turns {
		r.l.passTurn(r.last)
	}
}

// alive returns the items not failed, reusing items' backing array only
// when nothing was dropped.
func alive(items []*Item) []*Item {
	for i, it := range items {
		if it.Err != nil {
			out := make([]*Item, 0, len(items)-1)
			out = append(out, items[:i]...)
			for _, it := range items[i+1:] {
				if it.Err == nil {
					out = append(out, it)
				}
			}
			return out
		}
	}
	return items
}

// runStage runs one stage over a batch with retries and its breaker; first
// says it is the batch's first stage (its span links the batch's records).
func (e *Engine) runStage(ctx context.Context, st Stage, br *resilience.Breaker, items []*Item, first bool) {
	name := st.Name()
	for attempt := 0; ; {
		if !br.Allow() {
			if e.opts.PauseOnOpenBreaker && ctx.Err() == nil {
				// Hold the batch; consumption is paused until a trial
				// call closes the breaker again.
				select {
				case <-ctx.Done():
				case <-time.After(minDuration(e.opts.BreakerCooldown/4, 250*time.Millisecond)):
				}
				continue
			}
			failAll(items, name, fmt.Sprintf("stage %s: %v", name, ErrBreakerOpen))
			e.m.StageFailures.WithLabelValues(name).Inc()
			return
		}
		start := time.Now()
		sctx, span := e.startStage(ctx, name, items, first)
		err := st.Process(sctx, items)
		endStage(span, err)
		e.m.StageDuration.WithLabelValues(name).Observe(time.Since(start).Seconds())
		transient := err != nil && IsTransient(err)
		br.Done(!transient)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			failAll(items, name, fmt.Sprintf("stage %s stopped by shutdown: %v", name, err))
			return
		}
		if !transient && len(items) > 1 {
			// A permanent error may come from one bad item: halve the batch
			// until the failures are isolated, so that good items in the
			// same batch still get their verdicts.
			e.m.StageRetries.WithLabelValues(name).Inc()
			half := len(items) / 2
			e.runStage(ctx, st, br, items[:half], first)
			e.runStage(ctx, st, br, items[half:], first)
			return
		}
		if !transient || (attempt >= e.opts.MaxRetries && !e.opts.PauseOnOpenBreaker) {
			e.m.StageFailures.WithLabelValues(name).Inc()
			failAll(items, name, fmt.Sprintf("stage %s failed after %d attempts: %v", name, attempt+1, err))
			return
		}
		e.m.StageRetries.WithLabelValues(name).Inc()
		e.log.Debug("retrying batch after transient error", "stage", name, "attempt", attempt+1, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(e.opts.Backoff.Delay(attempt)):
		}
		attempt++
	}
}

func minDuration(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

func failAll(items []*Item, stage, detail string) {
	for _, it := range items {
		it.Fail(stage, contract.ReasonStageFailed, detail)
	}
}

func (e *Engine) breakerChanged(from, to resilience.BreakerState) {
	if !e.opts.PauseOnOpenBreaker {
		return
	}
	e.openMu.Lock()
	defer e.openMu.Unlock()
	switch {
	case from == resilience.BreakerClosed && to != resilience.BreakerClosed:
		e.open++
		if e.open == 1 {
			e.m.Paused.Set(1)
			e.src.Pause()
		}
	case from != resilience.BreakerClosed && to == resilience.BreakerClosed:
		e.open--
		if e.open == 0 {
			e.m.Paused.Set(0)
			e.src.Resume()
		}
	}
}
