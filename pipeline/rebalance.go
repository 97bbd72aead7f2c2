package pipeline

import (
	"context"
	"slices"
)

// Revoked implements PartitionListener: revoked partitions finish their
// in-flight records (bounded by RevokeTimeout and ctx), commit, and go.
func (e *Engine) Revoked(ctx context.Context, parts []Partition) {
	if len(parts) == 0 {
		return
	}
	only := make(map[Partition]bool, len(parts))
	for _, p := range parts {
		only[p] = true
	}
	if !e.killed.Load() {
		if !e.waitLanes(ctx, e.opts.RevokeTimeout, only) {
			e.log.Warn("revoked partitions still had records in flight; the new owner will consume them again")
		}
		e.commit(ctx, only)
	}
	e.dropLanes(parts)
	e.forget(parts)
}

// Lost implements PartitionListener: the partitions are gone without a
// chance to commit.
func (e *Engine) Lost(parts []Partition) {
	e.dropLanes(parts)
	e.forget(parts)
}

// prepare shows Preparer folders the partitions of a poll's records.
func (e *Engine) prepare(recs []*Record) {
	var parts []Partition
	for _, f := range e.opts.Folders {
		p, ok := f.(Preparer)
		if !ok {
			continue
		}
		if parts == nil {
			seen := map[Partition]bool{}
			for _, r := range recs {
				if !seen[r.Partition] {
					seen[r.Partition] = true
					parts = append(parts, r.Partition)
				}
			}
		}
		p.Prepare(parts)
	}
}

// ForgetPartitions implements StateForgetter.
func (e *Engine) ForgetPartitions(parts []Partition) { e.forget(parts) }

func (e *Engine) forget(parts []Partition) {
	for _, f := range e.opts.Folders {
		f.Forget(parts)
	}
}

func (e *Engine) dropLanes(parts []Partition) {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.lanesMu.Lock()
	defer e.lanesMu.Unlock()
	for _, p := range parts {
		if l := e.lanes[p]; l != nil {
			l.close()
			delete(e.lanes, p)
			if e.opts.Tracer != nil && l.pending() > 0 {
				// Its records in flight may never be acknowledged: their
				// spans are ended when the engine stops, if not before.
				e.orphans = append(slices.DeleteFunc(e.orphans, func(o *lane) bool { return o.pending() == 0 }), l)
			}
		}
		delete(e.committed, p)
	}
}

// resetLanes forgets every lane between transactions: the transaction
// committed (or aborted and rewound) the offsets itself.
func (e *Engine) resetLanes() {
	e.lanesMu.Lock()
	defer e.lanesMu.Unlock()
	for p, l := range e.lanes {
		if l.pending() == 0 {
			// Closing it also stops the poll loop's lane cache from
			// handing it out again.
			l.close()
			delete(e.lanes, p)
		}
	}
}
