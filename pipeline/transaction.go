package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// produceFailure is an output that could not be produced in a transaction.
type produceFailure struct {
	topic string
	err   error
}

// runTransactional runs one transaction per poll: every output of the
// polled records and their offsets commit together or not at all.
func (e *Engine) runTransactional(ctx context.Context, tx Transactor) error {
	e.inTxn.Store(true)
	failedInARow := 0
	for {
		recs, err := e.src.Poll(ctx)
		if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
			e.src.Release()
			return fmt.Errorf("poll source: %w", err)
		}
		finished := err != nil
		if len(recs) == 0 {
			e.src.Release()
			if finished {
				return nil
			}
			continue
		}
		e.prepare(recs)
		if err := tx.Begin(); err != nil {
			e.src.Release()
			return fmt.Errorf("begin transaction: %w", err)
		}
		ok := e.submitAll(ctx, recs)
		drained := e.waitIdle(e.prodCtx, e.opts.ShutdownTimeout)
		if e.killed.Load() {
			return nil
		}
		pf := e.txnFail.Swap(nil)
		commit := ok && drained && e.failure() == nil && pf == nil
		committed, endErr := tx.End(e.prodCtx, commit)
		switch {
		case endErr != nil:
			e.m.Transactions.WithLabelValues("failed").Inc()
			e.log.Warn("transaction failed; its records will be consumed again", "err", endErr)
		case committed:
			e.m.Transactions.WithLabelValues("committed").Inc()
			e.lanesMu.Lock()
			var commits []Commit
			for _, l := range e.lanes {
				if c, ok := l.commit(); ok {
					commits = append(commits, c)
				}
			}
			e.lanesMu.Unlock()
			e.markCommitted(commits)
		default:
			e.m.Transactions.WithLabelValues("aborted").Inc()
		}
		if endErr != nil || !committed {
			// The input rewinds to the last commit: state folded since is void.
			e.forget(nil)
		}
		e.src.Release()
		if !drained {
			return fmt.Errorf("transaction: records still in flight after %s", e.opts.ShutdownTimeout)
		}
		e.resetLanes()
		if e.failure() != nil {
			return e.failure()
		}
		if pf != nil {
			// The same records come again: retry a few times, with backoff,
			// then stop rather than abort forever.
			failedInARow++
			if failedInARow > e.opts.TransactionRetries {
				return fmt.Errorf("exactly-once: %d transactions in a row aborted: producing to topic %s failed: %w", failedInARow, pf.topic, pf.err)
			}
			e.log.Warn("transaction aborted: an output could not be produced; retrying", "topic", pf.topic, "err", pf.err, "attempt", failedInARow)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(e.opts.Backoff.Delay(failedInARow - 1)):
			}
		} else if committed {
			failedInARow = 0
		}
		if finished || !ok {
			return nil
		}
	}
}
