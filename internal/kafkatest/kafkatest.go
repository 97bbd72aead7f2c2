// Package kafkatest gives tests a real Kafka protocol endpoint: an embedded
// broker (franz-go's kfake over TCP) and a client of it.
package kafkatest

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sieve-stream/sieve/connectors/kafka"
)

// Start starts a broker for t with topics of partitions partitions, and
// returns its addresses and a client of it; both close at t's cleanup.
func Start(t testing.TB, partitions int32, topics ...string) ([]string, *kgo.Client) {
	t.Helper()
	b, err := kafka.StartBroker(0, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if len(topics) > 0 {
		if err := kafka.EnsureTopics(context.Background(), cl, partitions, topics...); err != nil {
			t.Fatal(err)
		}
	}
	return b.Addrs(), cl
}
