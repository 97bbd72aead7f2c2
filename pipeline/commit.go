package pipeline

import (
	"context"
	"strconv"
	"time"
)

func (e *Engine) commitLoop(ctx context.Context) {
	t := time.NewTicker(e.opts.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.m.InFlight.Set(float64(e.inFlight.Load()))
			e.commit(ctx, nil)
		}
	}
}

// commit commits the marks of every lane (only: of those partitions) that
// moved since the last commit.
func (e *Engine) commit(ctx context.Context, only map[Partition]bool) {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	if e.killed.Load() {
		return
	}
	var commits []Commit
	e.lanesMu.Lock()
	for p, l := range e.lanes {
		if only != nil && !only[p] {
			continue
		}
		if c, ok := l.commit(); ok && e.committed[p] != c.Offset {
			commits = append(commits, c)
		}
	}
	e.lanesMu.Unlock()
	if len(commits) == 0 {
		return
	}
	start := time.Now()
	err := e.src.Commit(ctx, commits)
	e.m.CommitDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		e.m.CommitErrors.Inc()
		e.log.Warn("offset commit failed; will retry", "err", err)
		return
	}
	for _, c := range commits {
		e.committed[c.Partition] = c.Offset
	}
	e.markCommitted(commits)
}

func (e *Engine) markCommitted(commits []Commit) {
	for _, c := range commits {
		e.m.CommittedOffset.WithLabelValues(c.Partition.Topic, strconv.Itoa(int(c.Partition.Partition))).Set(float64(c.Offset))
	}
}
