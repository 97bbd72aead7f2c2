package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/route"
	"github.com/sieve-stream/sieve/service"
)

// TestTransactionToMissingTopicIsBounded: in exactly-once mode a route to
// a topic that does not exist, on a broker that creates none, must not
// hang the member: each transaction's produce wait is bounded, the
// transaction is aborted and retried, and after the retries the member
// stops with an error that names the topic.
func TestTransactionToMissingTopicIsBounded(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1)) // no automatic topic creation
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	cfg := testConfig(t, brokers, 1)
	cfg.Delivery = config.ExactlyOnce
	cfg.Kafka.TransactionTimeout = 2 * time.Second
	cfg.Kafka.TransactionRetries = 2
	cfg.Routes = []route.Config{{Topic: "flagged-{flag}", When: route.When{Flags: []string{"harassment"}}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := service.CreateTopics(context.Background(), cfg, brokers); err != nil {
		t.Fatal(err)
	}
	produceAll(t, newClient(t, brokers), []*kgo.Record{{Topic: "posts", Value: []byte(`{"id":"x-1","text":"you are a worthless stupid idiot"}`)}})
	m, err := service.NewMember(cfg, service.MemberOptions{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "flagged-harassment") {
			t.Fatalf("the member stopped with %v, want an error naming flagged-harassment", err)
		}
		t.Logf("stopped: %v", err)
	case <-time.After(90 * time.Second):
		stop()
		m.Kill()
		t.Fatal("the member hung on a transaction producing to a missing topic")
	}
}
