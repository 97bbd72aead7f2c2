package service_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/service"
)

// Promote makes the shadow model live in place of the one it covers, and
// a member restarted on the promoted config carries on where the first
// stopped: in exactly-once mode every message has exactly one verdict,
// from the old model before the swap and the new one after. Before the
// swap the shadow model runs through the engine beside the live one and
// changes no decision.
func TestPromoteSwapsWithoutLossOrDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two members over a stream; skipped with -short")
	}
	brokers := startBroker(t)
	base := fmt.Sprintf(`# the live spam model, and a candidate beside it
delivery: exactly_once
kafka:
  brokers: [%s]
  group: sieve-promote
  transactional_id: sieve-promote-a
  partitions: 3
  session_timeout: 6s
  rebalance_timeout: 10s
pipeline: {commit_interval: 100ms, shutdown_timeout: 10s}
classifiers:
  - {type: linear, builtin: spam}
  - {type: rules, shadow: true} # the candidate
signals: {disabled: true}
rewrite: {disabled: true}
`, strings.Join(brokers, ", "))
	cfg1, err := config.Parse(strings.NewReader(base))
	if err != nil {
		t.Fatal(err)
	}
	promoted, err := service.Promote([]byte(base), cfg1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(promoted, []byte("# the candidate")) || bytes.Contains(promoted, []byte("shadow")) || bytes.Contains(promoted, []byte("builtin: spam")) {
		t.Fatalf("promoted config:\n%s", promoted)
	}
	cfg2, err := config.Parse(bytes.NewReader(promoted))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg2.Classifiers) != 1 || cfg2.Classifiers[0].Type != "rules" || cfg2.Classifiers[0].Shadow {
		t.Fatalf("promoted classifiers %+v", cfg2.Classifiers)
	}

	ctx := context.Background()
	if err := service.CreateTopics(ctx, cfg1, brokers); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	recs := make([]*kgo.Record, n)
	texts := make([]string, n)
	for i := range recs {
		texts[i] = fmt.Sprintf("win a free prize now %d, or see you at the market", i)
		switch i % 3 {
		case 0:
			texts[i] = fmt.Sprintf("see you at the market on day %d", i)
		case 1: // the rule baseline calls this spam; the live model may not
			texts[i] = fmt.Sprintf("the discount offer at the market is free for friends, day %d", i)
		}
		v, _ := json.Marshal(map[string]string{"id": fmt.Sprint("m-", i), "text": texts[i]})
		recs[i] = &kgo.Record{Topic: "posts", Key: key(i), Value: v}
	}
	adm := kadm.NewClient(newClient(t, brokers))

	// The first half before the swap, the second after it, the first
	// member stopping as a rolling restart stops it.
	produceAll(t, newClient(t, brokers), recs[:n/2])
	runMemberUntil(t, cfg1, brokers, "the first half", func() bool { return verdictCount(t, adm) >= n/2 })
	produceAll(t, newClient(t, brokers), recs[n/2:])
	runMemberUntil(t, cfg2, brokers, "the second half", func() bool {
		got := readTopic(t, brokers, "verdicts", n, true, 3*time.Second)
		return len(got) >= n
	})

	got := readTopic(t, brokers, "verdicts", n, true, 20*time.Second)
	requireEveryKey(t, got, n)
	if len(got) != n {
		t.Fatalf("%d committed verdicts for %d messages: duplicates", len(got), n)
	}
	// Before the swap the shadow model ran beside the live one through
	// the engine, and changed no decision: the same texts through the
	// stages of a config without it decide the same.
	plainCfg, err := config.Parse(strings.NewReader(strings.Replace(base, "  - {type: rules, shadow: true} # the candidate\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := service.NewApp(plainCfg, service.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	models := map[string]int{}
	for _, r := range got {
		var v struct {
			ID       string            `json:"id"`
			Decision string            `json:"decision"`
			Models   map[string]string `json:"models"`
		}
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatal(err)
		}
		name, _, _ := strings.Cut(v.Models["spam"], "@")
		models[name]++
		if name != "spam" {
			continue
		}
		var i int
		fmt.Sscanf(v.ID, "m-%d", &i)
		it := &pipeline.Item{ID: v.ID, Msg: &contract.Message{ID: v.ID, Text: texts[i]}}
		for _, st := range plain.Stages {
			if err := st.Process(ctx, []*pipeline.Item{it}); err != nil {
				t.Fatal(err)
			}
		}
		if string(cmp.Or(it.Decision, contract.DecisionAllow)) != v.Decision {
			t.Fatalf("%s: %s beside the shadow model, %s without it", v.ID, v.Decision, it.Decision)
		}
	}
	if flips := readTopic(t, brokers, "shadow", 1, true, 5*time.Second); len(flips) == 0 {
		t.Fatal("the shadow model wrote no record of where it disagreed")
	}
	if models["spam"] == 0 || models["rules-baseline"] == 0 {
		t.Fatalf("verdicts by model %v: want some from the old spam model and some from the promoted rules", models)
	}
	t.Logf("%d verdicts, each key once; by model %v", len(got), models)
}
