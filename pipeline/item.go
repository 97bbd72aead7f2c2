package pipeline

import (
	"sync/atomic"
	"time"

	"github.com/sieve-stream/sieve/contract"
	"go.opentelemetry.io/otel/trace"
)

// ItemError is why an item became a dead letter.
type ItemError struct {
	Code   contract.Reason
	Detail string // a human sentence
	Stage  string // the stage that failed, "decode" for input errors
}

func (e *ItemError) Error() string { return e.Stage + ": " + string(e.Code) + ": " + e.Detail }

// Item is the unit that travels through the pipeline: the raw record, the
// decoded message and what the stages filled in. Stages annotate an Item in
// place and never copy it; one Item is only ever touched by one goroutine at a
// time (the batcher hands a batch to exactly one worker).
type Item struct {
	Record *Record
	Msg    *contract.Message // nil when decoding failed
	ID     string

	// Normalized is the message text through textnorm.Normalize, filled in
	// by the first stage that needs it so that later ones need not redo it.
	Normalized string
	// titled is Text() of a message with a title, joined once.
	titled string

	// Filled in by stages.
	contract.Verdict
	// Outputs beyond the verdict (rewrites, routed copies) that stages ask to
	// be produced along with it.
	Extra []Output

	// Err makes the item a dead letter; set through Fail.
	Err *ItemError

	// Tokens is an estimate of the item's model cost, used by the batcher.
	Tokens int

	received time.Time  // when the pipeline took the record
	span     trace.Span // the record's span, when tracing
	// spanEnded is set by whichever ends span first: the acknowledgement
	// or, when the engine stops without one, endAbandoned.
	spanEnded atomic.Bool
	lane      *lane
	seq       int64 // the item's place in its lane, for ordered stages
	done      bool
	acked     bool
	pending   int32 // outputs not yet acknowledged
	outputs   []Output
	outBuf    [1]Output        // the verdict or dead letter, without a separate allocation
	msg       contract.Message // Msg points here once decoded
}

// Fail marks the item as failed in stage; it will be dead-lettered with the
// stage_failed reason unless a code is given.
func (it *Item) Fail(stage string, code contract.Reason, detail string) {
	if it.Err != nil {
		return
	}
	if code == "" {
		code = contract.ReasonStageFailed
	}
	it.Err = &ItemError{Code: code, Detail: detail, Stage: stage}
}

// Text is what stages read of the message: its text, after its title
// when it has one (JoinTitle); "" for a dead item.
func (it *Item) Text() string {
	if it.Msg == nil {
		return ""
	}
	if it.Msg.Title == "" {
		return it.Msg.Text
	}
	// Several stages read it per message: join once.
	if it.titled == "" {
		it.titled = contract.JoinTitle(it.Msg.Title, it.Msg.Text)
	}
	return it.titled
}

// Received is when the pipeline took the record.
func (it *Item) Received() time.Time { return it.received }

// Latency is the time since the pipeline took the record.
func (it *Item) Latency() time.Duration { return time.Since(it.received) }
