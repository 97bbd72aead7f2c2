package override

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/kafkatest"
	"github.com/sieve-stream/sieve/pipeline"
)

// A decision read from the topic overrides the pipeline on the same text
// written differently, milder decisions included; other texts are left
// alone.
func TestFollowAndOverride(t *testing.T) {
	brokers, cl := kafkatest.Start(t, 1, "decisions")
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, d := range []map[string]any{
		{"id": "m-1", "text_key": Key("Win a FREE phone"), "decision": "allow", "reviewer": "alice"},
		{"id": "m-2", "text_key": Key("you are all idiots"), "decision": "rewrite", "reviewer": "bob", "rewrite": "you are all wrong"},
		{"id": "m-3", "decision": "block", "reviewer": "carol"}, // no text key: an older record, skipped
	} {
		v, _ := json.Marshal(d)
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "decisions", Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	store := NewMemory()
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Follow(fctx, opts, "decisions", store, nil) }()
	for {
		v, _ := store.GetMulti(ctx, []string{storeKey(Key("you are all idiots"))})
		if v[0] != nil || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	items := []*pipeline.Item{
		{Msg: &contract.Message{Text: "win   a free PHONE"}, Verdict: contract.Verdict{Decision: contract.DecisionBlock}},
		{Msg: &contract.Message{Text: "You are all idiots"}, Verdict: contract.Verdict{Decision: contract.DecisionBlock}},
		{Msg: &contract.Message{Text: "something else"}, Verdict: contract.Verdict{Decision: contract.DecisionFlag}},
	}
	if err := (&Stage{Store: store}).Process(ctx, items); err != nil {
		t.Fatal(err)
	}
	for i, tt := range []struct {
		decision contract.Decision
		rewrite  string
		finding  bool
	}{{contract.DecisionAllow, "", true}, {contract.DecisionRewrite, "you are all wrong", true}, {contract.DecisionFlag, "", false}} {
		it := items[i]
		if it.Decision != tt.decision || (tt.rewrite != "" && (it.Rewrite == nil || *it.Rewrite != tt.rewrite)) || (len(it.Findings) > 0) != tt.finding {
			t.Errorf("item %d: decision %s, rewrite %v, findings %v; want %s, %q, finding %v", i, it.Decision, it.Rewrite, it.Findings, tt.decision, tt.rewrite, tt.finding)
		}
	}
}
