package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/service"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startBroker starts an embedded broker over TCP for one test.
func startBroker(t testing.TB) []string {
	t.Helper()
	b, err := kafka.StartBroker(0, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b.Addrs()
}

func testConfig(t testing.TB, brokers []string, partitions int32) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Partitions = partitions
	cfg.Kafka.Group = "sieve-test"
	cfg.Kafka.SessionTimeout = 6 * time.Second
	cfg.Kafka.RebalanceTimeout = 10 * time.Second
	cfg.Pipeline.CommitInterval = 200 * time.Millisecond
	cfg.Pipeline.ShutdownTimeout = 10 * time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newClient(t testing.TB, brokers []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// produceAll writes records with ProduceSync in chunks.
func produceAll(t testing.TB, cl *kgo.Client, recs []*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := 0; i < len(recs); i += 5000 {
		j := min(i+5000, len(recs))
		if err := cl.ProduceSync(ctx, recs[i:j]...).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
}

// readTopic reads topic from the start until it holds at least want records
// and has been quiet for settle, or until timeout.
func readTopic(t testing.TB, brokers []string, topic string, want int, committed bool, timeout time.Duration) []*kgo.Record {
	t.Helper()
	opts := []kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl := newClient(t, brokers, opts...)
	defer cl.Close()
	var out []*kgo.Record
	deadline := time.Now().Add(timeout)
	quietSince := time.Now()
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := len(out)
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
		if len(out) > n {
			quietSince = time.Now()
		}
		if len(out) >= want && time.Since(quietSince) > 500*time.Millisecond {
			break
		}
	}
	return out
}

// committedOffsets returns the group's committed offsets for topic.
func committedOffsets(t testing.TB, brokers []string, group, topic string) map[int32]int64 {
	t.Helper()
	adm := kadm.NewClient(newClient(t, brokers))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			out[o.Partition] = o.At
		}
	})
	return out
}

// endOffsets returns the high watermarks of topic.
func endOffsets(t testing.TB, brokers []string, topic string) map[int32]int64 {
	t.Helper()
	adm := kadm.NewClient(newClient(t, brokers))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

func key(i int) []byte { return []byte(fmt.Sprintf("m-%d", i)) }

// requireEveryKey fails unless every key m-0 … m-(n-1) has a record.
func requireEveryKey(t testing.TB, recs []*kgo.Record, n int) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range recs {
		seen[string(r.Key)] = true
	}
	for i := range n {
		if !seen[string(key(i))] {
			t.Fatalf("m-%d has no verdict", i)
		}
	}
}

// runMemberUntil runs a member of cfg until cond holds, then stops it as a
// rolling restart would (drain, commit) and fails t on its error.
func runMemberUntil(t *testing.T, cfg *config.Config, brokers []string, what string, cond func() bool) {
	t.Helper()
	m, err := service.NewMember(cfg, service.MemberOptions{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	waitFor(t, what, 2*time.Minute, cond)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// testVerdict is the part of a verdict record the tests compare.
type testVerdict struct {
	ID       string             `json:"id"`
	Labels   map[string]float64 `json:"labels"`
	Flags    []string           `json:"flags"`
	Decision string             `json:"decision"`
}

// verdictsByID decodes verdict records by their message id.
func verdictsByID(t testing.TB, recs []*kgo.Record) map[string]testVerdict {
	t.Helper()
	out := make(map[string]testVerdict, len(recs))
	for _, r := range recs {
		var v testVerdict
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("verdict %s: %v", r.Key, err)
		}
		out[v.ID] = v
	}
	return out
}
