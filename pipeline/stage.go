package pipeline

import (
	"context"
	"errors"
	"io"
)

// Stage processes one micro-batch in place.
//
// Process annotates the items it is given (scores, flags, decision, findings,
// rewrite) and must not keep them after it returns. An item-level failure is
// recorded with Item.Fail and is not an error; the item then becomes a dead
// letter and later stages skip it. A returned error fails the whole batch:
// the pipeline retries it when the error is Transient, under the stage's
// circuit breaker, and dead-letters the batch's items with stage_failed when
// it gives up. Process must return promptly once ctx is done.
//
// A stage that holds resources (an ONNX session, a client) implements
// io.Closer. Its owner, the app that built it, closes it once the engine
// has stopped: never while Process may still run.
type Stage interface {
	Name() string
	Process(ctx context.Context, items []*Item) error
}

// StageFunc adapts a function to a Stage.
type StageFunc struct {
	StageName string
	Fn        func(ctx context.Context, items []*Item) error
}

func (s StageFunc) Name() string                                     { return s.StageName }
func (s StageFunc) Process(ctx context.Context, items []*Item) error { return s.Fn(ctx, items) }

// An Ordered stage keeps state across batches that must not depend on how
// concurrent batches interleave, such as campaign clusters, where which
// near-duplicate came first decides the cluster the others join. When
// InOrder reports true, the engine runs the stage on a batch only once every
// earlier item of the batch's partitions has been through it, or has left
// the pipeline before reaching it: each partition's items reach the stage in
// offset order, as in a single-worker run. Batches still run concurrently
// before and after the stage, and batches of other partitions concurrently
// with it. InOrder is a method rather than a bare marker so that a wrapper
// can answer for the stage it wraps.
type Ordered interface {
	Stage
	InOrder() bool
}

// CloseAll closes, last first, the stages that implement io.Closer, and
// returns their errors joined.
func CloseAll(stages []Stage) error {
	var errs []error
	for i := len(stages) - 1; i >= 0; i-- {
		if c, ok := stages[i].(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// Nop is the stage that does nothing; it measures the pipeline's own cost.
var Nop Stage = StageFunc{StageName: "nop", Fn: func(context.Context, []*Item) error { return nil }}

type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// Transient marks err as worth retrying (a timeout, a backend restarting).
// Errors not marked are permanent: retrying them cannot help.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

// IsTransient reports whether err or one it wraps was marked Transient, or is
// a context deadline (a slow backend, not a broken one).
func IsTransient(err error) bool {
	var t transientError
	return errors.As(err, &t) || errors.Is(err, context.DeadlineExceeded)
}

// ErrBreakerOpen is returned to callers while a stage's circuit breaker is
// open and the batch was not tried.
var ErrBreakerOpen = errors.New("circuit breaker open")

// A Folder keeps state that must follow each partition's offset order, such
// as windowed counts: a Stage sees micro-batches in any order and may see an
// item twice on a retry, a Folder sees every item once, in order.
//
// Fold is called with a run of one partition's items in offset order (dead
// letters included, to be skipped), never concurrently for the same
// partition, just before their outputs go to the sink. The outputs it
// returns (closed windows, a snapshot of its state) are produced as outputs
// of items[0]: that offset is not committed before they are written, and in
// exactly-once mode they are part of the same transaction.
//
// Forget drops the state of partitions this process no longer owns, or of
// every partition (parts == nil) after an aborted transaction rewound the
// input: Fold must then restore what was last committed before going on.
type Folder interface {
	Fold(part Partition, items []*Item) []Output
	Forget(parts []Partition)
}

// A Preparer is a Folder that, in exactly-once mode, is shown the partitions
// of each poll before its transaction begins: with none of its own writes
// pending, it can wait for other writers' transactions to settle and read
// back the newest committed state of partitions it has not seen yet.
type Preparer interface {
	Prepare(parts []Partition)
}
