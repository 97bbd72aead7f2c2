package proxy

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/guardrails"
)

// Auditor receives every rail decision. Record must not block for long;
// AuditLog hands the event to a producer and returns.
type Auditor interface {
	Record(requestID, keyID, rail string, text string, res guardrails.Result)
}

// RecordWriter takes a keyed record and returns without waiting for it to
// be written (kafka.TopicWriter).
type RecordWriter interface {
	WriteRecord(key, value []byte)
}

// AuditLog is the Auditor that writes every rail decision to W as
// AuditValue, keyed by request id.
type AuditLog struct{ W RecordWriter }

// Record implements Auditor.
func (a AuditLog) Record(requestID, keyID, rail, _ string, res guardrails.Result) {
	a.W.WriteRecord([]byte(requestID), AuditValue(requestID, keyID, rail, res))
}

// AuditValue encodes a rail decision as the contract's verdict shape plus
// request_id, key_id and rail. The text is never included; findings carry
// labels and offsets, not the matched values, so no personal data or key
// leaves the proxy in an audit event.
func AuditValue(requestID, keyID, rail string, res guardrails.Result) []byte {
	v := &contract.Verdict{Decision: res.Action.Decision()}
	for _, f := range res.Findings {
		v.Findings = append(v.Findings, contract.Finding{Detector: "guardrails:" + f.Scanner, Signal: f.Label,
			Detail: string(f.Action)})
	}
	b := contract.AppendVerdict(nil, requestID, nil, v, nil, 0, false)
	// Add the proxy's fields to the verdict object (extend by adding).
	b = b[:len(b)-1]
	b = append(b, `,"request_id":`...)
	b = contract.AppendString(b, requestID)
	b = append(b, `,"key_id":`...)
	b = contract.AppendString(b, keyID)
	b = append(b, `,"rail":`...)
	b = contract.AppendString(b, rail)
	return append(b, '}')
}

// Metrics are the proxy's collectors.
type Metrics struct {
	Requests *prometheus.CounterVec
	Blocks   *prometheus.CounterVec
	Rail     *prometheus.HistogramVec
	Upstream prometheus.Histogram
	TTFT     prometheus.Histogram
}

// NewMetrics creates and registers the collectors (reg nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	buckets := prometheus.ExponentialBuckets(0.0001, 2.5, 14)
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_proxy_requests_total",
			Help: "Proxy requests by endpoint and status code."}, []string{"endpoint", "code"}),
		Blocks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_proxy_blocks_total",
			Help: "Requests or replies blocked, by rail (input, output)."}, []string{"rail"}),
		Rail: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sieve_proxy_rail_seconds",
			Help: "Latency the rails add, by rail.", Buckets: buckets}, []string{"rail"}),
		Upstream: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sieve_proxy_upstream_seconds",
			Help: "Upstream latency to the full answer (or the stream's end).", Buckets: buckets}),
		TTFT: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sieve_proxy_time_to_first_token_seconds",
			Help: "From the request to the first content chunk sent to the client.", Buckets: buckets}),
	}
	// Both rails exist from the start, so a dashboard's rate() reads 0
	// rather than nothing until the first block.
	for _, rail := range []string{"input", "output"} {
		m.Blocks.WithLabelValues(rail)
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.Blocks, m.Rail, m.Upstream, m.TTFT)
	}
	return m
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }
