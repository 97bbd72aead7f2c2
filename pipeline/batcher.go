package pipeline

import (
	"sync"
	"time"
)

// BatchOptions bound a micro-batch.
type BatchOptions struct {
	// MaxItems closes a batch once it holds this many items.
	MaxItems int
	// MaxTokens closes a batch before an item would take its estimated token
	// count over this bound, so that an encoder's padded batch stays bounded.
	// Zero means no bound. A single item larger than the bound is a batch of
	// its own.
	MaxTokens int
	// Linger is how long the first item of a batch may wait for company.
	// Zero sends whatever one fetch delivered as soon as it is submitted.
	Linger time.Duration
}

// batcher groups items into micro-batches and hands them to out, in the
// order it closed them: ordered stages rely on a lane's earlier items being
// in batches sent earlier. Workers finish batches in any order; lanes
// restore offset order afterwards.
type batcher struct {
	opts BatchOptions
	out  chan<- []*Item
	// stopped is closed when no worker will read out again; a batch sent
	// after that is dropped, and its records, never acknowledged, are
	// consumed again after a restart.
	stopped chan struct{}

	// sendMu is taken while mu is still held and kept over the send, so
	// that batches leave in the order they were closed even when the linger
	// timer and the poll loop close two at once.
	sendMu sync.Mutex
	mu     sync.Mutex
	cur    []*Item
	tokens int
	timer  *time.Timer
	gen    uint64 // invalidates a linger timer whose batch already left
}

func newBatcher(opts BatchOptions, out chan<- []*Item) *batcher {
	if opts.MaxItems <= 0 {
		opts.MaxItems = 1
	}
	return &batcher{opts: opts, out: out, stopped: make(chan struct{})}
}

// add puts it into the current batch, sending the batch when it is full.
// It blocks while out is full: that is the batcher's backpressure.
func (b *batcher) add(it *Item) {
	b.mu.Lock()
	if len(b.cur) > 0 && b.opts.MaxTokens > 0 && b.tokens+it.Tokens > b.opts.MaxTokens {
		full := b.takeLocked()
		b.sendLocked(full)
		b.mu.Lock()
	}
	b.cur = append(b.cur, it)
	b.tokens += it.Tokens
	if len(b.cur) >= b.opts.MaxItems {
		full := b.takeLocked()
		b.sendLocked(full)
		return
	}
	if len(b.cur) == 1 && b.opts.Linger > 0 {
		gen := b.gen
		b.timer = time.AfterFunc(b.opts.Linger, func() { b.flushGen(gen) })
	}
	b.mu.Unlock()
}

// flush sends the current batch now, if any.
func (b *batcher) flush() {
	b.mu.Lock()
	if len(b.cur) == 0 {
		b.mu.Unlock()
		return
	}
	b.sendLocked(b.takeLocked())
}

func (b *batcher) flushGen(gen uint64) {
	b.mu.Lock()
	if gen != b.gen || len(b.cur) == 0 {
		b.mu.Unlock()
		return
	}
	b.sendLocked(b.takeLocked())
}

func (b *batcher) takeLocked() []*Item {
	batch := b.cur
	b.cur = make([]*Item, 0, b.opts.MaxItems)
	b.tokens = 0
	b.gen++
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	return batch
}

// sendLocked is called with mu held and releases it once the batch's place
// in the send order is taken; the send itself may block (backpressure).
func (b *batcher) sendLocked(batch []*Item) {
	b.sendMu.Lock()
	defer b.sendMu.Unlock()
	b.mu.Unlock()
	select {
	case b.out <- batch:
	case <-b.stopped:
	}
}

func (b *batcher) stop() { close(b.stopped) }
