package pipeline

import (
	"context"
	"errors"
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
