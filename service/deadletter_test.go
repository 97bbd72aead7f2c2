package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/service"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestBadMessagesAreDeadLettered mixes 1,000 bad messages of every kind into
// 10,000 good ones: each bad one reaches the dead-letter topic with its
// reason and original bytes, each good one gets a verdict, and the group's
// committed offsets reach the end of every partition.
func TestBadMessagesAreDeadLettered(t *testing.T) {
	brokers := startBroker(t)
	cfg := testConfig(t, brokers, 4)
	if err := service.CreateTopics(context.Background(), cfg, brokers); err != nil {
		t.Fatal(err)
	}
	kinds := []contract.Reason{contract.ReasonInvalidJSON, contract.ReasonInvalidUTF8, contract.ReasonTooLarge, contract.ReasonEmpty, contract.ReasonStageFailed}
	bad := map[string]string{}      // key -> reason
	badValue := map[string][]byte{} // key -> original bytes
	var recs []*kgo.Record
	for i := range 11_000 {
		k := fmt.Sprintf("m-%d", i)
		var v []byte
		if i%11 == 5 { // 1,000 bad ones spread through the stream
			reason := kinds[len(bad)%len(kinds)]
			switch reason {
			case contract.ReasonInvalidJSON:
				v = []byte(`{"id":"` + k + `","text":"unterminated`)
			case contract.ReasonInvalidUTF8:
				v = []byte("{\"text\":\"caf\xe9 \xff\"}")
			case contract.ReasonTooLarge:
				v, _ = json.Marshal(map[string]string{"id": k, "text": strings.Repeat("x", 70_000)})
			case contract.ReasonEmpty:
				v = []byte(`{"id":"` + k + `","text":"  ","media":[]}`)
			case contract.ReasonStageFailed:
				v, _ = json.Marshal(map[string]string{"id": k, "text": "POISON " + k})
			}
			bad[k], badValue[k] = string(reason), v
		} else {
			v, _ = json.Marshal(map[string]string{"id": k, "text": fmt.Sprintf("an ordinary post %d", i)})
		}
		recs = append(recs, &kgo.Record{Topic: "posts", Key: []byte(k), Value: v,
			Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte(k)}}})
	}
	produceAll(t, newClient(t, brokers, kgo.ProducerBatchMaxBytes(4<<20)), recs)

	app, err := service.NewApp(cfg, service.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	stages := app.Stages
	// A stage that fails permanently for any batch holding a poison message.
	poison := pipeline.StageFunc{StageName: "poison", Fn: func(_ context.Context, items []*pipeline.Item) error {
		for _, it := range items {
			if strings.HasPrefix(it.Text(), "POISON") {
				return errors.New("model rejected the batch")
			}
		}
		return nil
	}}
	m, err := service.NewMember(cfg, service.MemberOptions{Stages: append(stages, poison)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	dead := readTopic(t, brokers, "dead-letters", len(bad), false, 60*time.Second)
	verdicts := readTopic(t, brokers, "verdicts", 10_000, false, 60*time.Second)
	// Let the last commit land before stopping.
	waitFor(t, "offsets committed to the end", 30*time.Second, func() bool {
		c, e := committedOffsets(t, brokers, cfg.Kafka.Group, "posts"), endOffsets(t, brokers, "posts")
		for p, end := range e {
			if c[p] != end {
				return false
			}
		}
		return true
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	if len(dead) != len(bad) {
		t.Errorf("%d dead letters, want %d", len(dead), len(bad))
	}
	for _, r := range dead {
		k := string(r.Key)
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		if want, ok := bad[k]; !ok {
			t.Errorf("good message %s was dead-lettered: %s: %s", k, h["sieve-error"], h["sieve-detail"])
		} else if h["sieve-error"] != want {
			t.Errorf("%s: reason %q, want %q (%s)", k, h["sieve-error"], want, h["sieve-detail"])
		}
		if !bytes.Equal(r.Value, badValue[k]) {
			t.Errorf("%s: dead letter bytes changed", k)
		}
		if h["sieve-detail"] == "" || h["sieve-stage"] == "" || !strings.HasPrefix(h["sieve-source"], "posts/") || h["trace"] != k {
			t.Errorf("%s: headers incomplete: %v", k, h)
		}
	}
	got := map[string]bool{}
	for _, r := range verdicts {
		got[string(r.Key)] = true
	}
	for i := range 11_000 {
		k := fmt.Sprintf("m-%d", i)
		if _, isBad := bad[k]; !isBad && !got[k] {
			t.Fatalf("good message %s has no verdict", k)
		}
		if _, isBad := bad[k]; isBad && got[k] {
			t.Fatalf("bad message %s has a verdict", k)
		}
	}
}
