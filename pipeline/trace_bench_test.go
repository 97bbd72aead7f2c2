package pipeline

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discardSpans is an exporter that drops what the batcher hands it.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// BenchmarkRecordTracing is tracing's own work for one record at 100%
// sampling: its span opened under the traceparent it came with, the
// traceparent written into its verdict, the span ended with the decision,
// and a stage span per batch of 256 for each of six stages (the first
// linked to the batch's records). Spans go
// through the SDK's batcher to an exporter that drops them, as in
// sieve bench --compare-tracing.
func BenchmarkRecordTracing(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}))
	defer tp.Shutdown(context.Background())
	e := &Engine{opts: Options{Tracer: tp.Tracer("bench")}}
	hdr := []Header{{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")}}
	const batch, stages = 256, 6
	items := make([]*Item, 0, batch)
	b.ReportAllocs()
	for i := range b.N {
		r := &Record{Position: Position{Partition: Partition{Topic: "posts", Partition: 1}, Offset: int64(i)}, Key: []byte("m-1"), Headers: hdr}
		it := &Item{Record: r, received: time.Now()}
		e.startRecord(it)
		items = append(items, it)
		if len(items) == batch || i == b.N-1 {
			for st := range stages {
				_, span := e.startStage(context.Background(), "stage", items, st == 0)
				endStage(span, nil)
			}
			for _, it := range items {
				var out Output
				e.injectTrace(it, &out)
				endRecord(it)
			}
			items = items[:0]
		}
	}
	b.ReportMetric(1+float64(stages*((b.N+batch-1)/batch))/float64(b.N), "spans/record")
}
