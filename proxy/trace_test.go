package proxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sieve-stream/sieve/guardrails"
)

// TestRequestTraced: a request with a traceparent gets a server span under
// it, with the input rails, the upstream call and the output rails as
// children, and the upstream receives the same trace.
func TestRequestTraced(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	up := &upstream{reply: "Paris."}
	usrv := httptest.NewServer(up)
	defer usrv.Close()
	us := usrv.URL
	p, _ := guardrails.ParsePolicy([]byte(testRails))
	s, err := New(Config{Upstream: Upstream{BaseURL: us + "/v1"}}, Options{Rails: guardrails.NewEngine(p), Tracer: tp.Tracer("test")})
	if err != nil {
		t.Fatal(err)
	}
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"capital of France?"}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	byName := map[string]tracetest.SpanStub{}
	for _, sp := range exp.GetSpans() {
		byName[sp.Name] = sp
	}
	server, ok := byName["sieve.proxy chat"]
	if !ok {
		t.Fatalf("spans %v: no server span", keys(byName))
	}
	if server.SpanContext.TraceID().String() != traceID || server.Parent.SpanID().String() != parentID {
		t.Errorf("server span in %s under %s", server.SpanContext.TraceID(), server.Parent.SpanID())
	}
	for _, name := range []string{"sieve.rail input", "sieve.proxy.upstream", "sieve.rail output"} {
		sp, ok := byName[name]
		if !ok || sp.Parent.SpanID() != server.SpanContext.SpanID() {
			t.Errorf("%s: missing or not a child of the server span (spans %v)", name, keys(byName))
		}
	}
	up.mu.Lock()
	got := up.traceparent
	up.mu.Unlock()
	if !strings.HasPrefix(got, "00-"+traceID+"-") {
		t.Errorf("the upstream got traceparent %q, want trace %s", got, traceID)
	}
}

func keys(m map[string]tracetest.SpanStub) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
