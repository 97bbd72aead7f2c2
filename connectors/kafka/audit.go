package kafka

import (
	"context"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TopicWriter produces records to one topic without waiting for them: a
// slow broker never holds its caller (a chat request whose rail decisions
// are audited); a failed write is logged.
type TopicWriter struct {
	cl    *kgo.Client
	topic string
	log   *slog.Logger
}

// NewTopicWriter produces to topic with cl (the caller owns cl).
func NewTopicWriter(cl *kgo.Client, topic string, log *slog.Logger) *TopicWriter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &TopicWriter{cl: cl, topic: topic, log: log}
}

// WriteRecord hands the record to the producer and returns.
func (w *TopicWriter) WriteRecord(key, value []byte) {
	w.cl.Produce(context.Background(), &kgo.Record{Topic: w.topic, Key: key, Value: value}, func(_ *kgo.Record, err error) {
		if err != nil {
			w.log.Warn("record not written", "topic", w.topic, "key", string(key), "err", err)
		}
	})
}
