package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/resilience"
	"github.com/sourcegraph/conc/pool"
)

// Engine runs records from a Source through the stages to a Sink:
// decode → validate → stages → encode → produce → ack → commit.
type Engine struct {
	opts Options
	src  Source
	sink Sink
	log  *slog.Logger
	m    *Metrics

	batches chan []*Item
	batcher *batcher
	slots   chan struct{}

	lanesMu sync.Mutex
	// orphans are lanes taken away (revoked, lost) with records in flight,
	// kept for endAbandoned when tracing.
	orphans  []*lane
	lanes    map[Partition]*lane
	lastLane *lane // the poll loop's last lane; only the poll loop uses it

	commitMu  sync.Mutex
	committed map[Partition]int64

	breakers []*resilience.Breaker
	// firstOrdered and lastOrdered are the indexes of the first and last
	// Ordered stage, -1 when there is none.
	firstOrdered, lastOrdered int
	openMu                    sync.Mutex
	open                      int // breakers open while PauseOnOpenBreaker

	prodCtx    context.Context // outlives the poll loop so draining can produce
	prodCancel context.CancelFunc
	fatalOnce  sync.Once
	fatalErr   atomic.Pointer[error]
	stopPoll   context.CancelFunc
	killed     atomic.Bool
	// inTxn: the engine runs exactly-once transactions; txnFail holds the
	// first output of the open transaction that could not be produced,
	// which aborts it.
	inTxn     atomic.Bool
	txnFail   atomic.Pointer[produceFailure]
	aborted   chan struct{} // closed on a fatal error or Kill: waits give up
	abortOnce sync.Once
	inFlight  atomic.Int64

	// pre-bound collectors of the hot path
	inCounters       sync.Map // topic -> prometheus.Counter
	outCounters      sync.Map
	decisionCounters sync.Map
	flagCounters     sync.Map
	scoreObservers   sync.Map
}

// New creates an Engine. Options are copied and defaulted.
func New(src Source, sink Sink, opts Options) *Engine {
	opts.EnsureDefaults()
	e := &Engine{
		opts:         opts,
		src:          src,
		sink:         sink,
		log:          opts.Logger,
		m:            opts.Metrics,
		batches:      make(chan []*Item, opts.Workers*2),
		slots:        make(chan struct{}, opts.MaxInFlight),
		lanes:        make(map[Partition]*lane),
		committed:    make(map[Partition]int64),
		aborted:      make(chan struct{}),
		firstOrdered: -1,
		lastOrdered:  -1,
	}
	for i, st := range opts.Stages {
		if o, ok := st.(Ordered); ok && o.InOrder() {
			if e.firstOrdered < 0 {
				e.firstOrdered = i
			}
			e.lastOrdered = i
		}
	}
	e.batcher = newBatcher(opts.Batch, e.batches)
	// Series that exist before their first event read as 0 in rate() and
	// alerts, rather than as nothing.
	for _, r := range contract.Reasons {
		e.m.DeadLetters.WithLabelValues(string(r))
	}
	for _, d := range contract.Decisions {
		e.m.Decisions.WithLabelValues(string(d))
	}
	for _, o := range []string{"committed", "aborted", "failed"} {
		e.m.Transactions.WithLabelValues(o)
	}
	for _, st := range opts.Stages {
		name := st.Name()
		e.m.StageRetries.WithLabelValues(name)
		e.m.StageFailures.WithLabelValues(name)
		gauge := e.m.BreakerState.WithLabelValues(name)
		e.breakers = append(e.breakers, &resilience.Breaker{
			Threshold: opts.BreakerThreshold,
			Cooldown:  opts.BreakerCooldown,
			OnChange: func(from, to resilience.BreakerState) {
				gauge.Set(float64(to))
				e.log.Warn("circuit breaker changed state", "stage", name, "from", from.String(), "to", to.String())
				e.breakerChanged(from, to)
			},
		})
	}
	return e
}

// Run consumes until ctx is done or a finite source is exhausted, then
// drains: in-flight records finish and are committed within
// ShutdownTimeout. It returns nil after a clean stop and an error when the
// pipeline could not go on (a dead letter could not be written, the source
// failed).
func (e *Engine) Run(ctx context.Context) error {
	e.prodCtx, e.prodCancel = context.WithCancel(context.WithoutCancel(ctx))
	defer e.prodCancel()
	pollCtx, stopPoll := context.WithCancel(ctx)
	e.stopPoll = stopPoll
	defer stopPoll()
	if r, ok := e.src.(Rebalancing); ok {
		r.Bind(e)
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	workers := pool.New().WithMaxGoroutines(e.opts.Workers)
	for range e.opts.Workers {
		workers.Go(func() { e.work(workCtx) })
	}
	committerDone := make(chan struct{})
	tx, transactional := e.src.(Transactor)
	if !transactional {
		go func() { defer close(committerDone); e.commitLoop(pollCtx) }()
	} else {
		close(committerDone)
	}

	var err error
	if transactional {
		err = e.runTransactional(pollCtx, tx)
	} else {
		err = e.runStreaming(pollCtx)
	}
	stopPoll()
	<-committerDone
	if !e.killed.Load() {
		e.drain()
	}
	stopWork()
	workers.Wait()
	e.batcher.stop()
	e.endAbandoned()
	if e.failure() != nil {
		return e.failure()
	}
	return err
}

func (e *Engine) runStreaming(ctx context.Context) error {
	for {
		recs, err := e.src.Poll(ctx)
		if err != nil {
			e.src.Release()
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("poll source: %w", err)
		}
		stopped := !e.submitAll(ctx, recs)
		e.src.Release()
		if stopped {
			return nil
		}
	}
}

// submitAll takes a poll's records into the pipeline. It returns false when
// ctx ended before every record was taken.
func (e *Engine) submitAll(ctx context.Context, recs []*Record) bool {
	// One clock reading and one counter update per poll: the records of a
	// poll arrive together, and per-record bookkeeping is what a thin
	// pipeline spends its time on.
	now := time.Now()
	topic, n := "", 0
	defer func() {
		if n > 0 {
			e.counter(&e.inCounters, e.m.RecordsIn, topic).Add(float64(n))
		}
	}()
	for _, r := range recs {
		select {
		case e.slots <- struct{}{}:
		case <-ctx.Done():
			e.batcher.flush()
			return false
		}
		if r.Topic != topic && n > 0 {
			e.counter(&e.inCounters, e.m.RecordsIn, topic).Add(float64(n))
			n = 0
		}
		topic = r.Topic
		n++
		e.submit(r, now)
	}
	if e.opts.Batch.Linger == 0 || len(recs) == 0 {
		e.batcher.flush()
	}
	return true
}

func (e *Engine) submit(r *Record, now time.Time) {
	e.inFlight.Add(1)
	it := &Item{Record: r, received: now}
	if e.opts.Tracer != nil {
		e.startRecord(it)
	}
	e.laneFor(r.Partition).add(it)
	// Decoding happens in the workers, so that the poll loop stays a thin,
	// serial hand-off; the batcher sizes batches by the raw value until then.
	it.Tokens = len(r.Value)/4 + 2
	e.batcher.add(it)
}

// decode fills it.Msg or marks it as a dead letter.
func (e *Engine) decode(it *Item) {
	r := it.Record
	msg := &it.msg
	var err error
	if e.opts.Decoder != nil {
		err = e.opts.Decoder(r, e.opts.Decode, msg)
	} else {
		err = contract.DecodeMessageInto(r.Value, e.opts.Decode, msg)
	}
	if err != nil {
		var de *contract.DecodeError
		if errors.As(err, &de) {
			it.Err = &ItemError{Code: de.Code, Detail: de.Detail, Stage: "decode"}
		} else {
			it.Err = &ItemError{Code: contract.ReasonInvalidJSON, Detail: err.Error(), Stage: "decode"}
		}
		it.ID = e.opts.DefaultID(r)
		return
	}
	it.Msg = msg
	it.ID = msg.ID
	if it.ID == "" {
		it.ID = e.opts.DefaultID(r)
	}
	it.Tokens = e.opts.TokenEstimate(msg)
}

// DefaultID is the contract's default id: the record key, else
// topic/partition/offset.
func DefaultID(r *Record) string {
	if len(r.Key) > 0 {
		return string(r.Key)
	}
	return r.Topic + "/" + strconv.Itoa(int(r.Partition.Partition)) + "/" + strconv.FormatInt(r.Offset, 10)
}

func (e *Engine) laneFor(p Partition) *lane {
	if l := e.lastLane; l != nil && l.part == p && !l.isClosed() {
		return l
	}
	e.lanesMu.Lock()
	l := e.lanes[p]
	if l == nil {
		l = newLane(p)
		e.lanes[p] = l
	}
	e.lanesMu.Unlock()
	e.lastLane = l
	return l
}

// failure is the error that stopped the pipeline, if any.
func (e *Engine) failure() error {
	if p := e.fatalErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (e *Engine) fatal(err error) {
	e.fatalOnce.Do(func() {
		e.fatalErr.Store(&err)
		e.abort()
		e.log.Error("pipeline cannot go on", "err", err)
		if e.stopPoll != nil {
			e.stopPoll()
		}
	})
}

func (e *Engine) abort() { e.abortOnce.Do(func() { close(e.aborted) }) }

// InFlight is the number of records taken and not yet acknowledged.
func (e *Engine) InFlight() int64 { return e.inFlight.Load() }

// Kill stops the engine as a crash would: nothing more is committed, nothing
// drains. Tests use it to prove at-least-once delivery across crashes.
func (e *Engine) Kill() {
	e.killed.Store(true)
	e.abort()
	if e.stopPoll != nil {
		e.stopPoll()
	}
}

// waitIdle waits until every lane is empty, up to timeout. It reports
// whether everything was acknowledged.
func (e *Engine) waitIdle(ctx context.Context, timeout time.Duration) bool {
	return e.waitLanes(ctx, timeout, nil)
}

func (e *Engine) waitLanes(ctx context.Context, timeout time.Duration, only map[Partition]bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		e.batcher.flush()
		var wait <-chan struct{}
		e.lanesMu.Lock()
		for p, l := range e.lanes {
			if only != nil && !only[p] {
				continue
			}
			if ch := l.waitIdle(); ch != nil {
				wait = ch
				break
			}
		}
		e.lanesMu.Unlock()
		if wait == nil {
			return true
		}
		if e.failure() != nil || e.killed.Load() {
			return false
		}
		select {
		case <-wait:
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		case <-e.aborted:
			return false
		}
	}
}

// drain finishes in-flight work after polling stopped and commits it.
func (e *Engine) drain() {
	if !e.waitIdle(e.prodCtx, e.opts.ShutdownTimeout) {
		e.log.Warn("shutdown deadline passed with records in flight; they will be consumed again", "in_flight", e.InFlight())
	}
	if _, ok := e.src.(Transactor); ok {
		return
	}
	ctx, cancel := context.WithTimeout(e.prodCtx, 10*time.Second)
	defer cancel()
	e.commit(ctx, nil)
}
