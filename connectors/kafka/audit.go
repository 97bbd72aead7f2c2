package kafka

import (
	"context"
	"log/slog"

	"github.com/sieve-stream/sieve/guardrails"
	"github.com/sieve-stream/sieve/proxy"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Auditor writes the proxy's rail decisions to a Kafka topic, keyed by
// request id. Producing is asynchronous: a slow broker never holds a chat
// request; a failed write is logged.
type Auditor struct {
	cl    *kgo.Client
	topic string
	log   *slog.Logger
}

// NewAuditor produces to topic with cl (the caller owns cl).
func NewAuditor(cl *kgo.Client, topic string, log *slog.Logger) *Auditor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Auditor{cl: cl, topic: topic, log: log}
}

// Record implements proxy.Auditor.
func (a *Auditor) Record(requestID, keyID, rail, _ string, res guardrails.Result) {
	v := proxy.AuditValue(requestID, keyID, rail, res)
	a.cl.Produce(context.Background(), &kgo.Record{Topic: a.topic, Key: []byte(requestID), Value: v}, func(_ *kgo.Record, err error) {
		if err != nil {
			a.log.Warn("audit event not written", "request_id", requestID, "err", err)
		}
	})
}
