package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sieve-stream/sieve/service"
)

// A replay from a time reads only what came after it, as a new group, and
// knows when it has caught up; a group that ran before is refused.
func TestReplayFromATime(t *testing.T) {
	brokers := startBroker(t)
	cfg := testConfig(t, brokers, 2)
	cfg.Kafka.Topics.Verdicts = "verdicts-backfill"
	cfg.Signals.Disabled, cfg.Rewrite.Disabled = true, true
	ctx := context.Background()
	if err := service.CreateTopics(ctx, cfg, brokers); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-2 * time.Hour)
	from := t0.Add(time.Hour)
	var recs []*kgo.Record
	for i := range 200 {
		ts := t0
		if i >= 120 {
			ts = from.Add(time.Minute)
		}
		v, _ := json.Marshal(map[string]string{"id": fmt.Sprint("m-", i), "text": fmt.Sprint("post ", i)})
		recs = append(recs, &kgo.Record{Topic: "posts", Key: key(i), Value: v, Timestamp: ts})
	}
	produceAll(t, newClient(t, brokers), recs)

	const group = "backfill-1"
	ends, err := service.ReplayFrom(ctx, cfg, brokers, group, from)
	if err != nil {
		t.Fatal(err)
	}
	if done, _ := service.CaughtUp(ctx, cfg, brokers, group, ends); done {
		t.Fatal("caught up before reading anything")
	}
	cfg.Kafka.Group = group
	runMemberUntil(t, cfg, brokers, "the replay to catch up", func() bool {
		ok, err := service.CaughtUp(ctx, cfg, brokers, group, ends)
		return err == nil && ok
	})
	got := readTopic(t, brokers, "verdicts-backfill", 80, false, 10*time.Second)
	seen := map[string]bool{}
	for _, r := range got {
		seen[string(r.Key)] = true
	}
	for i := range 200 {
		if want := i >= 120; seen[string(key(i))] != want {
			t.Fatalf("m-%d: verdict %v, want %v (only what came after %s)", i, seen[string(key(i))], want, from.Format(time.RFC3339))
		}
	}
	if _, err := service.ReplayFrom(ctx, cfg, brokers, group, from); err == nil {
		t.Fatal("a group that has committed was moved for a second replay")
	}
}
