package pipeline

import (
	"context"
)

// Source yields records, in offset order within each Partition.
//
// Poll blocks until records are available and returns them; it returns
// io.EOF once a finite source is exhausted, and ctx.Err() when ctx is done.
// After the pipeline has taken every record of a Poll it calls Release
// (a Kafka source lets rebalances proceed only between Poll and Release).
// Commit durably records that every record below each Commit's offset is
// done; it is called from one goroutine at a time.
// Pause stops delivery from Poll until Resume; records already polled are
// still processed (the pipeline pauses while a backend's breaker is open).
type Source interface {
	Poll(ctx context.Context) ([]*Record, error)
	Release()
	Commit(ctx context.Context, commits []Commit) error
	Pause()
	Resume()
}

// PartitionListener is told when a source's partitions move away. Revoked
// must return only after the pipeline stopped working on parts and committed
// what it finished (bounded by ctx); Lost must stop work without committing.
type PartitionListener interface {
	Revoked(ctx context.Context, parts []Partition)
	Lost(parts []Partition)
}

// StateForgetter is implemented by the engine: a transactional source tells
// it of partitions that left, whose records the aborted transaction
// settles, so that only per-partition state (Folder) must be dropped.
type StateForgetter interface {
	ForgetPartitions(parts []Partition)
}

// Rebalancing is implemented by sources whose partitions can move to other
// consumers (Kafka groups). The pipeline binds itself before the first Poll.
type Rebalancing interface {
	Bind(PartitionListener)
}

// Transactor is implemented by sources that commit outputs and offsets
// atomically (Kafka transactions). With a Transactor the pipeline runs in
// cycles: Begin, take one Poll, produce every output, then End, which
// commits the outputs together with the offsets of every polled record when
// commit is true and aborts otherwise. End reports whether it committed; a
// source that aborted rewinds so the same records are polled again.
type Transactor interface {
	Begin() error
	End(ctx context.Context, commit bool) (committed bool, err error)
}

// Sink produces outputs.
//
// Produce hands one output over and returns without waiting; the sink calls
// out.Ack exactly once when the output is durably written or has failed,
// possibly before Produce returns and possibly from another goroutine. The
// sink must not modify out. Outputs handed over by one goroutine to the same
// topic and key keep their order. Flush waits until every output handed over
// so far is acknowledged.
type Sink interface {
	Produce(ctx context.Context, out *Output)
	Flush(ctx context.Context) error
}
