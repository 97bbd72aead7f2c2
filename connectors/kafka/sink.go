package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sieve-stream/sieve/pipeline"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Sink produces pipeline outputs with a franz-go client. The client is
// idempotent (franz-go's default), so a retried batch is never written twice,
// and keyed records go to the partition of their key, so one key's verdicts
// keep their order.
type Sink struct {
	cl *kgo.Client
}

// NewSink wraps cl; the caller owns cl.
func NewSink(cl *kgo.Client) *Sink { return &Sink{cl: cl} }

// Produce implements pipeline.Sink.
func (s *Sink) Produce(ctx context.Context, out *pipeline.Output) {
	p := newProduced(ctx, out)
	s.cl.Produce(ctx, &p.Record, acked)
}

// produced carries a record and the output it was made from in one
// allocation: the record's Context is the produced itself, so one shared
// promise function finds the output again without a closure per record. A
// client hook may wrap the Context (kotel puts its publish span on top), so
// the promise finds the produced as a value of it.
type produced struct {
	Record kgo.Record
	base   context.Context
	out    *pipeline.Output
}

func (p *produced) Deadline() (time.Time, bool) { return p.base.Deadline() }
func (p *produced) Done() <-chan struct{}       { return p.base.Done() }
func (p *produced) Err() error                  { return p.base.Err() }
func (p *produced) Value(key any) any {
	if key == (producedKey{}) {
		return p
	}
	return p.base.Value(key)
}

type producedKey struct{}

func newProduced(ctx context.Context, out *pipeline.Output) *produced {
	p := &produced{Record: kgo.Record{Topic: out.Topic, Key: out.Key, Value: out.Value}, base: ctx, out: out}
	if len(out.Headers) > 0 {
		p.Record.Headers = make([]kgo.RecordHeader, len(out.Headers))
		for i, h := range out.Headers {
			p.Record.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	p.Record.Context = p
	return p
}

func acked(r *kgo.Record, err error) {
	// A record the broker refuses for what it is (too large, invalid) will
	// be refused again: the pipeline dead-letters it rather than retrying.
	if errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge) || errors.Is(err, kerr.InvalidRecord) ||
		errors.Is(err, kerr.CorruptMessage) || errors.Is(err, kerr.InvalidTopicException) {
		err = fmt.Errorf("%w: %w", pipeline.ErrOutputRejected, err)
	}
	r.Context.Value(producedKey{}).(*produced).out.Ack(err)
}

// Flush implements pipeline.Sink.
func (s *Sink) Flush(ctx context.Context) error { return s.cl.Flush(ctx) }
