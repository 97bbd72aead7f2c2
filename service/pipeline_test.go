package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/service"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestVerdictsForEveryMessage(t *testing.T) {
	brokers := startBroker(t)
	cfg := testConfig(t, brokers, 4)
	ctx := context.Background()
	if err := service.CreateTopics(ctx, cfg, brokers); err != nil {
		t.Fatal(err)
	}
	const n = 5000
	var recs []*kgo.Record
	for i := range n {
		text := "nice photo of the park"
		if i%10 == 0 {
			text = "WIN a FREE prize now, click here http://spam.example"
		}
		v, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("m-%d", i), "text": text})
		recs = append(recs, &kgo.Record{Topic: "posts", Key: key(i), Value: v})
	}
	produceAll(t, newClient(t, brokers), recs)

	m, err := service.NewMember(cfg, service.MemberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	got := readTopic(t, brokers, "verdicts", n, false, 60*time.Second)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	flagged := 0
	for _, r := range got {
		var v struct {
			ID       string             `json:"id"`
			Labels   map[string]float64 `json:"labels"`
			Flags    []string           `json:"flags"`
			Decision string             `json:"decision"`
		}
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("verdict is not JSON: %v: %s", err, r.Value)
		}
		if string(r.Key) != v.ID {
			t.Fatalf("verdict key %q, id %q", r.Key, v.ID)
		}
		seen[v.ID]++
		if len(v.Flags) > 0 {
			flagged++
		}
	}
	for i := range n {
		if seen[string(key(i))] == 0 {
			t.Fatalf("no verdict for m-%d", i)
		}
	}
	if flagged != n/10 {
		t.Errorf("flagged %d, want %d", flagged, n/10)
	}
	committed := committedOffsets(t, brokers, cfg.Kafka.Group, "posts")
	ends := endOffsets(t, brokers, "posts")
	for p, end := range ends {
		if committed[p] != end {
			t.Errorf("partition %d committed %d, end %d", p, committed[p], end)
		}
	}
}
