package kafka

import (
	"context"

	"github.com/sieve-stream/sieve/pipeline"
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
func (s *Sink) Produce(ctx context.Context, out *pipeline.Output, done func(error)) {
	r := &kgo.Record{Topic: out.Topic, Key: out.Key, Value: out.Value}
	if len(out.Headers) > 0 {
		r.Headers = make([]kgo.RecordHeader, len(out.Headers))
		for i, h := range out.Headers {
			r.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	s.cl.Produce(ctx, r, func(_ *kgo.Record, err error) { done(err) })
}

// Flush implements pipeline.Sink.
func (s *Sink) Flush(ctx context.Context) error { return s.cl.Flush(ctx) }
