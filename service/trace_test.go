package service_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sieve-stream/sieve/service"
)

// TestTraceFromInputToVerdict: a record produced with a W3C traceparent is
// one trace through Sieve: the record's span (sieve.record) is a child of
// the producer's span, with the messaging attributes and Sieve's decision;
// each stage's batch span is its child, and the verdict record carries the
// same trace id, under the record span, in its own traceparent. Spans go
// to the SDK's in-memory exporter.
// With tracing.client_spans, kotel's hooks add a receive span between the
// producer's span and the record span, and a publish span under the
// record span, which the verdict's traceparent then names.
func TestTraceFromInputToVerdict(t *testing.T) {
	t.Run("client spans", func(t *testing.T) { traceFromInputToVerdict(t, true) })
	t.Run("no client spans", func(t *testing.T) { traceFromInputToVerdict(t, false) })
}

func traceFromInputToVerdict(t *testing.T, clientSpans bool) {
	brokers := startBroker(t)
	cfg := testConfig(t, brokers, 1)
	cfg.Tracing.ClientSpans = clientSpans
	if err := service.CreateTopics(context.Background(), cfg, brokers); err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	produceAll(t, newClient(t, brokers), []*kgo.Record{{Topic: "posts", Key: []byte("t-1"), Value: []byte(`{"id":"t-1","text":"you are a worthless stupid idiot"}`),
		Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-" + traceID + "-" + parentID + "-01")}}}})

	m, err := service.NewMember(cfg, service.MemberOptions{Brokers: brokers, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var verdicts []*kgo.Record
	waitFor(t, "the verdict and its record span", time.Minute, func() bool {
		verdicts = readTopic(t, brokers, "verdicts", 1, false, 5*time.Second)
		spans := exp.GetSpans()
		return len(verdicts) == 1 && slices.ContainsFunc(spans, func(s tracetest.SpanStub) bool { return s.Name == "sieve.record" }) &&
			(!clientSpans || slices.ContainsFunc(spans, func(s tracetest.SpanStub) bool { return s.Name == "verdicts publish" }))
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	named := func(name string) tracetest.SpanStub {
		for _, s := range spans {
			if s.Name == name {
				return s
			}
		}
		t.Fatalf("no span %q among %d", name, len(spans))
		return tracetest.SpanStub{}
	}
	record := named("sieve.record")
	// The span the verdict's traceparent names: kotel's publish span, else
	// the record span.
	parentOfVerdict := record
	if clientSpans {
		receive, publish := named("posts receive"), named("verdicts publish")
		if receive.SpanContext.TraceID().String() != traceID || receive.Parent.SpanID().String() != parentID {
			t.Fatalf("receive span in trace %s under %s, want %s under %s", receive.SpanContext.TraceID(), receive.Parent.SpanID(), traceID, parentID)
		}
		if record.SpanContext.TraceID().String() != traceID || record.Parent.SpanID() != receive.SpanContext.SpanID() {
			t.Fatalf("record span in trace %s under %s, want %s under the receive span %s", record.SpanContext.TraceID(), record.Parent.SpanID(), traceID, receive.SpanContext.SpanID())
		}
		if publish.SpanContext.TraceID().String() != traceID || publish.Parent.SpanID() != record.SpanContext.SpanID() {
			t.Fatalf("publish span in trace %s under %s, want %s under the record span %s", publish.SpanContext.TraceID(), publish.Parent.SpanID(), traceID, record.SpanContext.SpanID())
		}
		parentOfVerdict = publish
	} else {
		if slices.ContainsFunc(spans, func(s tracetest.SpanStub) bool {
			return strings.HasSuffix(s.Name, " receive") || strings.HasSuffix(s.Name, " publish")
		}) {
			t.Fatal("client spans without tracing.client_spans")
		}
		if record.SpanContext.TraceID().String() != traceID || record.Parent.SpanID().String() != parentID {
			t.Fatalf("record span in trace %s under %s, want %s under %s", record.SpanContext.TraceID(), record.Parent.SpanID(), traceID, parentID)
		}
	}
	attrs := map[string]string{}
	messaging := record.Attributes
	if clientSpans {
		// The receive span has the messaging attributes.
		messaging = named("posts receive").Attributes
	}
	for _, a := range append(slices.Clip(messaging), record.Attributes...) {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	if (attrs["messaging.destination.name"] != "posts" && attrs["messaging.source.name"] != "posts") || attrs["sieve.decision"] == "" || !strings.Contains(attrs["sieve.flags"], "harassment") {
		t.Errorf("record span attributes %v", attrs)
	}
	var stages []string
	for _, s := range spans {
		if strings.HasPrefix(s.Name, "sieve.stage ") {
			if s.Parent.SpanID() != record.SpanContext.SpanID() || s.SpanContext.TraceID() != record.SpanContext.TraceID() {
				t.Errorf("%s is not a child of the record span", s.Name)
			}
			stages = append(stages, strings.TrimPrefix(s.Name, "sieve.stage "))
		}
	}
	for _, want := range []string{"classify", "signals", "detectors", "policy", "rewrite"} {
		if !slices.Contains(stages, want) {
			t.Errorf("stage spans %v have no %s", stages, want)
		}
	}
	var tp2 string
	for _, h := range verdicts[0].Headers {
		if h.Key == "traceparent" {
			tp2 = string(h.Value)
		}
	}
	if !strings.HasPrefix(tp2, "00-"+traceID+"-"+parentOfVerdict.SpanContext.SpanID().String()) {
		t.Errorf("verdict traceparent %q, want trace %s and the %s span %s", tp2, traceID, parentOfVerdict.Name, parentOfVerdict.SpanContext.SpanID())
	}
	t.Logf("stages traced: %v", stages)
}
