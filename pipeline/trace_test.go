package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

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

// holdSink acknowledges the outputs of partition 0's records (keys
// "k-0-...") and never the others.
type holdSink struct{ n atomic.Int64 }

func (s *holdSink) Produce(_ context.Context, out *Output) {
	s.n.Add(1)
	if strings.HasPrefix(string(out.Key), "k-0-") {
		go out.Ack(nil)
	}
}
func (s *holdSink) Flush(context.Context) error { return nil }

// TestAbandonedRecordSpansEnd: records whose outputs were never
// acknowledged when the engine stopped (killed, or out of time draining)
// still have their spans ended, with where they came from and an error
// status that says why; acknowledged records' spans are left as they
// ended, with their decision.
func TestAbandonedRecordSpansEnd(t *testing.T) {
	for _, kill := range []bool{true, false} {
		name := map[bool]string{true: "killed", false: "drain timed out"}[kill]
		t.Run(name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			defer tp.Shutdown(context.Background())
			src := newMemSource(2, 20, func(p, i int) string { return fmt.Sprintf(`{"text":"p%d i%d"}`, p, i) })
			sink := &holdSink{}
			e := New(src, sink, Options{Stages: []Stage{Nop}, Tracer: tp.Tracer("test"), ShutdownTimeout: 50 * time.Millisecond})
			done := make(chan error, 1)
			go func() { done <- e.Run(context.Background()) }()
			if kill {
				for sink.n.Load() < 40 || e.InFlight() > 20 {
					time.Sleep(time.Millisecond)
				}
				e.Kill()
			}
			<-done
			byPart := map[string]int{}
			for _, s := range exp.GetSpans() {
				if s.Name != "sieve.record" {
					continue
				}
				attrs := map[string]string{}
				for _, a := range s.Attributes {
					attrs[string(a.Key)] = a.Value.Emit()
				}
				part := attrs["messaging.kafka.destination.partition"]
				byPart[part]++
				abandoned := s.Status.Code == codes.Error && strings.Contains(s.Status.Description, "abandoned")
				switch {
				case attrs["messaging.destination.name"] != "in":
					t.Errorf("record span without its topic: %v", attrs)
				case part == "0" && (abandoned || attrs["sieve.decision"] == ""):
					t.Errorf("an acknowledged record's span: status %q, attributes %v", s.Status.Description, attrs)
				case part == "1" && !abandoned:
					t.Errorf("an unacknowledged record's span: status %v %q", s.Status.Code, s.Status.Description)
				}
			}
			if byPart["0"] != 20 || byPart["1"] != 20 {
				t.Errorf("record spans ended by partition %v, want 20 each", byPart)
			}
		})
	}
}
