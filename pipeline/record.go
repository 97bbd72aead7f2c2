// Package pipeline is Sieve's engine: the Item that travels through it, the
// batch-shaped Stage contract, the micro-batcher, per-partition ordering
// (lanes), acknowledgements, offset commits, transactions and rebalances.
// It knows interfaces, never vendors: Kafka, files and stdin are Sources
// and Sinks implemented in connectors/; what a message and a verdict are is
// the contract package's. Files by concern: engine.go (lifecycle),
// options.go, runner.go (stages), ack.go, commit.go, transaction.go,
// rebalance.go.
package pipeline

import (
	"context"
	"fmt"
	"time"
)

// Header is one record header.
type Header struct {
	Key   string
	Value []byte
}

// Partition names one ordered stream of records: a Kafka topic partition, or
// a file (topic = file name, partition 0).
type Partition struct {
	Topic     string
	Partition int32
}

func (p Partition) String() string { return fmt.Sprintf("%s/%d", p.Topic, p.Partition) }

// Position is where a record was read. Offsets grow by at least one within a
// Partition; gaps (compaction, transaction markers) are allowed.
type Position struct {
	Partition
	Offset      int64
	LeaderEpoch int32
}

func (p Position) String() string {
	return fmt.Sprintf("%s/%d/%d", p.Topic, p.Partition.Partition, p.Offset)
}

// Record is one input record as a Source hands it over. The pipeline never
// modifies Value: dead letters carry it unchanged.
type Record struct {
	Position
	Key       []byte
	Value     []byte
	Headers   []Header
	Timestamp time.Time
	// Context, when set by the source, carries the trace a client hook
	// opened for the record (franz-go's kotel: its receive span, a child
	// of the producer's trace): the record's span is then its child.
	Context context.Context
}

// Output is one record the pipeline wants produced: a verdict, a rewrite or a
// dead letter.
type Output struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers []Header
	// SameAsVerdict asks for the item's verdict as Value, filled in when the
	// engine encodes the verdict (a routed copy, asked for by a stage that
	// runs before the verdict exists).
	SameAsVerdict bool
	// BestEffort marks an output whose failure must not change the item's
	// outcome (a shadow model's record): it is logged and the item goes on
	// as if it were written.
	BestEffort bool
	// VerdictWithMessage asks for the verdict with the decoded message
	// added as its "message" field: what a moderator needs to see.
	VerdictWithMessage bool

	// Who is waiting for this output's acknowledgement. A method call
	// instead of a callback keeps the hot path free of closures.
	eng  *Engine
	item *Item
}

// Ack reports that the output was durably written (err == nil) or failed
// for good. A Sink calls it exactly once per Output it was handed.
func (o *Output) Ack(err error) {
	if o.eng != nil {
		o.eng.acked(o.item, o, err)
	}
}

// Commit is the next offset to consume for a partition: every record below
// Offset has had its outputs acknowledged.
type Commit struct {
	Partition
	Offset      int64
	LeaderEpoch int32
}

// Header returns the value of the record's last header named name.
func (r *Record) Header(name string) (string, bool) {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == name {
			return string(r.Headers[i].Value), true
		}
	}
	return "", false
}
