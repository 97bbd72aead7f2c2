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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/resilience"
	"github.com/sourcegraph/conc/pool"
)

// Options configure an Engine. Zero values take the defaults of
// EnsureDefaults.
type Options struct {
	// Stages run in order over every micro-batch.
	Stages []Stage
	Batch  BatchOptions
	// Workers is how many micro-batches are processed at once.
	Workers int
	// MaxInFlight bounds the records taken but not yet acknowledged; when it
	// is reached the pipeline stops polling (backpressure).
	MaxInFlight int

	VerdictTopic    string
	DeadLetterTopic string
	Decode          contract.DecodeOptions

	// MaxRetries is how often a batch is retried after a transient error.
	MaxRetries int
	Backoff    resilience.Backoff
	// BreakerThreshold transient failures in a row open a stage's breaker
	// for BreakerCooldown.
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// PauseOnOpenBreaker pauses consumption while a breaker is open, instead
	// of dead-lettering every batch that reaches the broken stage.
	PauseOnOpenBreaker bool

	CommitInterval  time.Duration
	ShutdownTimeout time.Duration
	// RevokeTimeout bounds how long a rebalance waits for revoked
	// partitions' in-flight records.
	RevokeTimeout time.Duration

	// DefaultID names a message that has no id (default: the record key,
	// else topic/partition/offset).
	DefaultID func(*Record) string
	// DeadLetter builds the output of a failed item (default: the original
	// record to DeadLetterTopic with the contract's headers).
	DeadLetter func(*Item) Output

	// Folders see every item in its partition's offset order as it goes to
	// the sink (windowed aggregates).
	Folders []Folder

	// TokenEstimate estimates an item's model cost for the batcher.
	TokenEstimate func(*contract.Message) int
	// OnDone, when set, sees every item once its outputs (verdict or dead
	// letter) were acknowledged: the demo's live line and the benchmark's
	// clock. It must be quick and must not keep the item.
	OnDone func(*Item)

	Metrics *Metrics
	Logger  *slog.Logger
}

// EnsureDefaults fills unset options.
func (o *Options) EnsureDefaults() {
	if o.Batch.MaxItems <= 0 {
		o.Batch.MaxItems = 256
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 16 * o.Batch.MaxItems
		if o.MaxInFlight < 4096 {
			o.MaxInFlight = 4096
		}
	}
	if o.VerdictTopic == "" {
		o.VerdictTopic = "verdicts"
	}
	if o.DeadLetterTopic == "" {
		o.DeadLetterTopic = "dead-letters"
	}
	if o.Decode.MaxTextBytes == 0 && o.Decode.MaxRecordBytes == 0 {
		o.Decode = contract.DefaultDecodeOptions
	}
	if o.Backoff.Initial <= 0 {
		o.Backoff.Initial = 50 * time.Millisecond
	}
	if o.Backoff.Max <= 0 {
		o.Backoff.Max = 5 * time.Second
	}
	if o.BreakerThreshold <= 0 {
		o.BreakerThreshold = 5
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = 5 * time.Second
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.RevokeTimeout <= 0 {
		o.RevokeTimeout = 20 * time.Second
	}
	if o.DefaultID == nil {
		o.DefaultID = DefaultID
	}
	if o.DeadLetter == nil {
		topic := o.DeadLetterTopic
		o.DeadLetter = func(it *Item) Output { return DeadLetter(topic, it) }
	}
	if o.TokenEstimate == nil {
		o.TokenEstimate = EstimateTokens
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// EstimateTokens is a cheap stand-in for a tokenizer: about four bytes a
// token, plus the two special tokens an encoder adds.
func EstimateTokens(m *contract.Message) int { return len(m.Text)/4 + 2 }

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

	lanesMu  sync.Mutex
	lanes    map[Partition]*lane
	lastLane *lane // the poll loop's last lane; only the poll loop uses it

	commitMu  sync.Mutex
	committed map[Partition]int64

	breakers []*resilience.Breaker
	openMu   sync.Mutex
	open     int // breakers open while PauseOnOpenBreaker

	prodCtx    context.Context // outlives the poll loop so draining can produce
	prodCancel context.CancelFunc
	fatalOnce  sync.Once
	fatalErr   atomic.Pointer[error]
	stopPoll   context.CancelFunc
	killed     atomic.Bool
	aborted    chan struct{} // closed on a fatal error or Kill: waits give up
	abortOnce  sync.Once
	inFlight   atomic.Int64

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
		opts:      opts,
		src:       src,
		sink:      sink,
		log:       opts.Logger,
		m:         opts.Metrics,
		batches:   make(chan []*Item, opts.Workers*2),
		slots:     make(chan struct{}, opts.MaxInFlight),
		lanes:     make(map[Partition]*lane),
		committed: make(map[Partition]int64),
		aborted:   make(chan struct{}),
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

// runTransactional runs one transaction per poll: every output of the
// polled records and their offsets commit together or not at all.
func (e *Engine) runTransactional(ctx context.Context, tx Transactor) error {
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
		commit := ok && drained && e.failure() == nil
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
		if finished || !ok {
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
	if err := contract.DecodeMessageInto(r.Value, e.opts.Decode, msg); err != nil {
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
	for i, st := range e.opts.Stages {
		live = alive(live)
		if len(live) == 0 {
			break
		}
		e.runStage(ctx, st, e.breakers[i], live)
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

// runStage runs one stage over a batch with retries and its breaker.
func (e *Engine) runStage(ctx context.Context, st Stage, br *resilience.Breaker, items []*Item) {
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
		err := st.Process(ctx, items)
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
			e.runStage(ctx, st, br, items[:half])
			e.runStage(ctx, st, br, items[half:])
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

// encode builds the item's outputs: its verdict and extras, or its dead
// letter.
func (e *Engine) encode(it *Item, now time.Time) {
	if it.Err != nil {
		e.m.DeadLetters.WithLabelValues(string(it.Err.Code)).Inc()
		it.outBuf[0] = e.opts.DeadLetter(it)
		it.outputs = it.outBuf[:1]
	} else {
		v := AppendVerdict(make([]byte, 0, 256), it, now.Sub(it.received), e.opts.Decode.KeepUnknown)
		it.outBuf[0] = Output{Topic: e.opts.VerdictTopic, Key: it.Record.Key, Value: v}
		it.outputs = append(it.outBuf[:1], it.Extra...)
		for i := 1; i < len(it.outputs); i++ {
			if it.outputs[i].SameAsVerdict {
				it.outputs[i].Value = v
			}
		}
	}
}

// release hands items, in their lane's offset order, to the sink.
func (e *Engine) release(items []*Item) {
	for _, f := range e.opts.Folders {
		if out := f.Fold(items[0].lane.part, items); len(out) > 0 {
			items[0].outputs = append(items[0].outputs, out...)
		}
	}
	for _, it := range items {
		it.pending = int32(len(it.outputs))
		for i := range it.outputs {
			out := &it.outputs[i]
			out.eng, out.item = e, it
			e.sink.Produce(e.prodCtx, out)
		}
	}
}

func (e *Engine) acked(it *Item, out *Output, err error) {
	if err != nil {
		if it.Err != nil || e.killed.Load() || e.prodCtx.Err() != nil {
			e.fatal(fmt.Errorf("produce to %s for %s: %w", out.Topic, it.Record.Position, err))
			return
		}
		// The verdict could not be written (too large for the broker, topic
		// gone): the record still must not be lost, so it becomes a dead letter.
		e.log.Warn("could not produce output, dead-lettering the record", "topic", out.Topic, "source", it.Record.Position.String(), "err", err)
		it.Fail("produce", contract.ReasonProduceFailed, fmt.Sprintf("producing to %s failed: %v", out.Topic, err))
		e.m.DeadLetters.WithLabelValues(string(contract.ReasonProduceFailed)).Inc()
		dl := e.opts.DeadLetter(it)
		dl.eng, dl.item = e, it
		e.sink.Produce(e.prodCtx, &dl)
		return
	}
	e.counter(&e.outCounters, e.m.RecordsOut, out.Topic).Inc()
	if atomic.AddInt32(&it.pending, -1) != 0 {
		return
	}
	e.observe(it)
	it.lane.ack(it)
	e.inFlight.Add(-1)
	<-e.slots
}

func (e *Engine) observe(it *Item) {
	if it.Err == nil {
		now := time.Now()
		e.m.Processing.Observe(now.Sub(it.received).Seconds())
		if ts := it.Record.Timestamp; !ts.IsZero() {
			e.m.EndToEnd.Observe(now.Sub(ts).Seconds())
		}
		d := it.Decision
		if d == "" {
			d = contract.DecisionAllow
		}
		e.counter(&e.decisionCounters, e.m.Decisions, string(d)).Inc()
		for _, f := range it.Flags {
			e.counter(&e.flagCounters, e.m.Flags, f).Inc()
		}
		for _, s := range it.Scores {
			e.observer(s.Label).Observe(s.Score)
		}
	}
	if e.opts.OnDone != nil {
		e.opts.OnDone(it)
	}
}

func (e *Engine) counter(cache *sync.Map, vec *prometheus.CounterVec, topic string) prometheus.Counter {
	if c, ok := cache.Load(topic); ok {
		return c.(prometheus.Counter)
	}
	c := vec.WithLabelValues(topic)
	cache.Store(topic, c)
	return c
}

func (e *Engine) observer(label string) prometheus.Observer {
	if o, ok := e.scoreObservers.Load(label); ok {
		return o.(prometheus.Observer)
	}
	o := e.m.LabelScore.WithLabelValues(label)
	e.scoreObservers.Store(label, o)
	return o
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
