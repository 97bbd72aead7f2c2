package review

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Feed reads the decisions first, so that an item decided in an earlier
// run is never queued again, then the review topic as it grows.
func TestFeedSkipsDecidedItems(t *testing.T) {
	cfg := testConfig()
	brokers, cl := kafkatest.Start(t, 2, cfg.Topic, cfg.DecisionsTopic)
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 4 {
		v := fmt.Sprintf(`{"v":1,"id":"m-%d","labels":{"spam":0.6},"flags":["spam"],"decision":"flag","message":{"text":"post %d"}}`, i, i)
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.Topic, Key: []byte(fmt.Sprint("m-", i)), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	old := Decision{V: 1, ID: "m-1", Reviewer: "alice", Decision: "allow", Claim: "c-old"}
	if err := (KafkaWriter{cl, cfg.DecisionsTopic}).Write(ctx, []byte("m-1"), old.Encode()); err != nil {
		t.Fatal(err)
	}
	q := NewQueue(NewMemoryLeaser(), time.Minute)
	s := NewServer(cfg, Options{Queue: q, Writer: &memWriter{}})
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Feed(fctx, opts, cfg, s, nil, nil) }()
	deadline := time.Now().Add(15 * time.Second)
	for q.Health().Depth < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h := q.Health()
	if h.Depth != 3 || q.Item("m-1") != nil {
		t.Fatalf("queue depth %d (m-1 queued: %v), want 3 without the decided m-1", h.Depth, q.Item("m-1") != nil)
	}
	if st := s.perReview["alice"]; st == nil || st.decisions != 1 {
		t.Fatalf("the earlier decision is not counted: %+v", st)
	}
}
