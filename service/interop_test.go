package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	segkafka "github.com/segmentio/kafka-go"
	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/policy"
	"github.com/sieve-stream/sieve/service"
)

// TestInteropWithKafkaGo produces the input with an independent Kafka client
// (segmentio/kafka-go) and reads the verdicts back with it, so Sieve is not
// only ever tested against its own client library.
func TestInteropWithKafkaGo(t *testing.T) {
	brokers := startBroker(t)
	cfg := testConfig(t, brokers, 3)
	// The rule baseline makes the expected labels exact.
	cfg.Classifiers = []classifiers.Config{{Type: "rules"}}
	cfg.Policy = policy.Default
	cfg.EnsureDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := service.CreateTopics(ctx, cfg, brokers); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	w := &segkafka.Writer{Addr: segkafka.TCP(brokers...), Topic: "posts", Balancer: &segkafka.Hash{},
		BatchSize: 500, BatchTimeout: 10 * time.Millisecond, RequiredAcks: segkafka.RequireAll}
	msgs := make([]segkafka.Message, n)
	for i := range msgs {
		text := "lovely weather in the park"
		if i%4 == 0 {
			text = "you are a stupid idiot"
		}
		v, _ := json.Marshal(map[string]string{"text": text, "author": fmt.Sprintf("u-%d", i%7)})
		msgs[i] = segkafka.Message{Key: key(i), Value: v}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("kafka-go write: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	m, err := service.NewMember(cfg, service.MemberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	r := segkafka.NewReader(segkafka.ReaderConfig{Brokers: brokers, Topic: "verdicts", GroupID: "kafka-go-reader",
		StartOffset: segkafka.FirstOffset, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 200 * time.Millisecond})
	defer r.Close()
	seen := map[string]bool{}
	toxic := 0
	for len(seen) < n {
		msg, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("kafka-go read after %d verdicts: %v", len(seen), err)
		}
		var v struct {
			ID       string             `json:"id"`
			Labels   map[string]float64 `json:"labels"`
			Decision string             `json:"decision"`
			Source   struct {
				Topic string `json:"topic"`
			} `json:"source"`
		}
		if err := json.Unmarshal(msg.Value, &v); err != nil {
			t.Fatalf("verdict is not JSON: %s", msg.Value)
		}
		if v.ID != string(msg.Key) || v.Source.Topic != "posts" {
			t.Fatalf("verdict %s: key %q source %q", v.ID, msg.Key, v.Source.Topic)
		}
		if v.Labels["toxic"] >= 0.5 {
			toxic++
		}
		seen[v.ID] = true
	}
	if toxic != n/4 {
		t.Errorf("%d toxic verdicts, want %d", toxic, n/4)
	}
}
