package pipeline

import (
	"context"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// propagator reads a record's W3C trace context and writes it into the
// outputs, so that a trace runs from the producer of the input through
// Sieve to the consumers of the verdict.
var propagator = propagation.TraceContext{}

// headers is a propagation.TextMapCarrier over record headers.
type headers struct{ h *[]Header }

func (c headers) Get(key string) string {
	for i := len(*c.h) - 1; i >= 0; i-- {
		if strings.EqualFold((*c.h)[i].Key, key) {
			return string((*c.h)[i].Value)
		}
	}
	return ""
}

func (c headers) Set(key, value string) {
	// One value per key: the input's traceparent, copied by the headers
	// output mode, is replaced by Sieve's.
	out := (*c.h)[:0:0]
	for _, h := range *c.h {
		if !strings.EqualFold(h.Key, key) {
			out = append(out, h)
		}
	}
	*c.h = append(out, Header{Key: key, Value: []byte(value)})
}

func (c headers) Keys() []string {
	keys := make([]string, len(*c.h))
	for i, h := range *c.h {
		keys[i] = h.Key
	}
	return keys
}

// maxLinks bounds the links of one stage span to the records of its
// batch.
const maxLinks = 64

// consumerKind is the record span's one start option besides its start
// time, made once: options are interfaces, and each costs an allocation.
var consumerKind = trace.WithSpanKind(trace.SpanKindConsumer)

// startRecord opens the record's span: a child of the span its source's
// client opened for it, else of the trace its headers carry, else a new
// trace. Its attributes are set when it ends, all at once, so that the
// SDK allocates them once.
func (e *Engine) startRecord(it *Item) {
	r := it.Record
	ctx := r.Context
	if ctx == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		ctx = propagator.Extract(context.Background(), headers{&r.Headers})
	}
	_, it.span = e.opts.Tracer.Start(ctx, "sieve.record", consumerKind, trace.WithTimestamp(it.received))
}

// startStage opens a stage's span over a batch: a child of the first
// record's span. The batch's first stage span also links to the other
// records' spans, as OpenTelemetry's messaging conventions have batch
// processing; the batch's later stages do not repeat the links, which
// would cost more than the spans themselves.
func (e *Engine) startStage(ctx context.Context, name string, items []*Item, link bool) (context.Context, trace.Span) {
	if e.opts.Tracer == nil || len(items) == 0 || items[0].span == nil {
		return ctx, nil
	}
	opts := []trace.SpanStartOption{trace.WithAttributes(attribute.String("sieve.stage", name), attribute.Int("sieve.batch.size", len(items)))}
	if link && len(items) > 1 {
		links := make([]trace.Link, 0, min(len(items)-1, maxLinks))
		for _, it := range items[1:] {
			if len(links) == maxLinks {
				break
			}
			if it.span != nil {
				links = append(links, trace.Link{SpanContext: it.span.SpanContext()})
			}
		}
		opts = append(opts, trace.WithLinks(links...))
	}
	return e.opts.Tracer.Start(trace.ContextWithSpan(ctx, items[0].span), "sieve.stage "+name, opts...)
}

// endStage closes a stage span with the stage's error.
func endStage(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// injectTrace writes the record's trace context into an output's headers,
// unless the client's publish span will (ClientPublishSpans).
func (e *Engine) injectTrace(it *Item, out *Output) {
	if it.span == nil || e.opts.ClientPublishSpans {
		return
	}
	propagator.Inject(trace.ContextWithSpan(context.Background(), it.span), headers{&out.Headers})
}

// produceContext is what an item's outputs are produced under: with
// tracing, the record's span, so that a client hook's publish span (kotel)
// is its child.
func (e *Engine) produceContext(it *Item) context.Context {
	if it.span == nil {
		return e.prodCtx
	}
	return trace.ContextWithSpan(e.prodCtx, it.span)
}

// messagingAttrs appends the record's topic, partition and offset, unless
// a client's receive span, the record span's parent, has them.
func messagingAttrs(attrs []attribute.KeyValue, r *Record) []attribute.KeyValue {
	if r.Context != nil && trace.SpanContextFromContext(r.Context).IsValid() {
		return attrs
	}
	return append(attrs, attribute.String("messaging.system", "kafka"), attribute.String("messaging.destination.name", r.Topic),
		attribute.Int("messaging.kafka.destination.partition", int(r.Partition.Partition)),
		attribute.Int64("messaging.kafka.message.offset", r.Offset))
}

// endRecord closes the record's span once its outputs are acknowledged,
// with its attributes: where the record came from (messagingAttrs), and
// its decision and flags or its dead letter. Whichever of endRecord and
// endAbandoned comes first ends the span.
func endRecord(it *Item) {
	if it.span == nil || !it.spanEnded.CompareAndSwap(false, true) {
		return
	}
	var buf [7]attribute.KeyValue
	attrs := messagingAttrs(buf[:0], it.Record)
	if it.Err != nil {
		attrs = append(attrs, attribute.String("sieve.dead_letter", string(it.Err.Code)), attribute.String("sieve.stage", it.Err.Stage))
		it.span.SetStatus(codes.Error, string(it.Err.Code)+": "+it.Err.Detail)
	} else {
		d := string(it.Decision)
		if d == "" {
			d = "allow"
		}
		attrs = append(attrs, attribute.String("sieve.decision", d))
		if len(it.Flags) > 0 {
			attrs = append(attrs, attribute.StringSlice("sieve.flags", it.Flags))
		}
	}
	it.span.SetAttributes(attrs...)
	it.span.End()
}

// endAbandoned ends the spans of the records the engine stopped without
// acknowledging (a kill, a failure, a drain that ran out of time, or a
// partition taken away with records in flight), with where they came from
// and an error status that says so: a trace then shows where a record was
// left, where an unended span would show nothing at all.
func (e *Engine) endAbandoned() {
	if e.opts.Tracer == nil {
		return
	}
	e.lanesMu.Lock()
	lanes := slices.Clone(e.orphans)
	for _, l := range e.lanes {
		lanes = append(lanes, l)
	}
	e.lanesMu.Unlock()
	for _, l := range lanes {
		l.mu.Lock()
		live := slices.Clone(l.q[l.head:])
		l.mu.Unlock()
		for _, it := range live {
			if it.span == nil || !it.spanEnded.CompareAndSwap(false, true) {
				continue
			}
			it.span.SetAttributes(messagingAttrs(nil, it.Record)...)
			it.span.SetStatus(codes.Error, "abandoned: the pipeline stopped before the record's outputs were acknowledged")
			it.span.End()
		}
	}
}
