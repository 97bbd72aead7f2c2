package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/service"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A test binary started with SIEVE_TEST_MEMBER set runs one group member
// until SIGTERM (a clean stop) or SIGKILL (a crash): crashes are real
// process deaths, not simulations.
func TestMain(m *testing.M) {
	if os.Getenv("SIEVE_TEST_MEMBER") != "" {
		os.Exit(memberProcess())
	}
	os.Exit(m.Run())
}

func memberProcess() int {
	brokers := strings.Split(os.Getenv("SIEVE_TEST_BROKERS"), ",")
	cfg := memberConfig(brokers, os.Getenv("SIEVE_TEST_DELIVERY"), os.Getenv("SIEVE_TEST_MEMBER"))
	if os.Getenv("SIEVE_TEST_SCENARIO") == "reviews" {
		cfg = reviewsConfig(brokers, os.Getenv("SIEVE_TEST_MEMBER"))
		cfg.Delivery = os.Getenv("SIEVE_TEST_DELIVERY")
	}
	stages, closeStages := slowStages(cfg)
	defer closeStages()
	m, err := service.NewMember(cfg, service.MemberOptions{Stages: stages})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func memberConfig(brokers []string, delivery, name string) *config.Config {
	cfg := config.Default()
	cfg.Delivery = delivery
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Partitions = 6
	cfg.Kafka.Group = "sieve-crash"
	cfg.Kafka.TransactionalID = "sieve-crash-" + name
	cfg.Kafka.SessionTimeout = 6 * time.Second
	cfg.Kafka.RebalanceTimeout = 10 * time.Second
	cfg.Kafka.MaxPollRecords = 500
	cfg.Pipeline.Workers = 2
	cfg.Pipeline.Batch.MaxItems = 50
	cfg.Pipeline.CommitInterval = 100 * time.Millisecond
	cfg.Pipeline.ShutdownTimeout = 10 * time.Second
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return cfg
}

// slowStages are the config's stages plus a pause per batch, so that a
// rebalance and a crash land in the middle of the stream, and the function
// that closes them.
func slowStages(cfg *config.Config) ([]pipeline.Stage, func() error) {
	app, err := service.NewApp(cfg, service.StageOptions{})
	if err != nil {
		panic(err)
	}
	return append(app.Stages, pipeline.StageFunc{StageName: "pause", Fn: func(ctx context.Context, _ []*pipeline.Item) error {
		pause := 20 * time.Millisecond
		if d, err := time.ParseDuration(os.Getenv("SIEVE_TEST_PAUSE")); err == nil {
			pause = d
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		return nil
	}}), app.Close
}

func startMemberProcess(t *testing.T, brokers []string, delivery, name string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SIEVE_TEST_MEMBER="+name, "SIEVE_TEST_BROKERS="+strings.Join(brokers, ","), "SIEVE_TEST_DELIVERY="+delivery)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// verdictCount is the number of records in the verdict topic so far.
func verdictCount(t *testing.T, adm *kadm.Client) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, "verdicts")
	if err != nil {
		return 0
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRebalanceCrashRestart pushes 100,000 messages through two members,
// adds the second midway (a rebalance), kills the first with SIGKILL,
// restarts it, and checks that every message has a verdict: at least one
// at-least-once, exactly one in exactly-once mode.
func TestRebalanceCrashRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test takes about a minute; skipped with -short")
	}
	for _, delivery := range []string{config.AtLeastOnce, config.ExactlyOnce} {
		t.Run(delivery, func(t *testing.T) { rebalanceCrashRestart(t, delivery) })
	}
}

func rebalanceCrashRestart(t *testing.T, delivery string) {
	const n = 100_000
	brokers := startBroker(t)
	cfg := memberConfig(brokers, delivery, "b")
	if err := service.CreateTopics(context.Background(), cfg, brokers); err != nil {
		t.Fatal(err)
	}
	recs := make([]*kgo.Record, n)
	for i := range recs {
		v, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("m-%d", i), "text": fmt.Sprintf("post number %d, free prize inside", i)})
		recs[i] = &kgo.Record{Topic: "posts", Key: key(i), Value: v}
	}
	produceAll(t, newClient(t, brokers), recs)
	adm := kadm.NewClient(newClient(t, brokers))

	a := startMemberProcess(t, brokers, delivery, "a")
	waitFor(t, "member a to make progress", 60*time.Second, func() bool { return verdictCount(t, adm) >= n/5 })

	// A second member joins: the group rebalances while a is mid-stream.
	var bDone atomic.Int64
	bStages, closeB := slowStages(cfg)
	defer closeB()
	b, err := service.NewMember(cfg, service.MemberOptions{Stages: bStages,
		Tune: func(o *pipeline.Options) { o.OnDone = func(*pipeline.Item) { bDone.Add(1) } }})
	if err != nil {
		t.Fatal(err)
	}
	bCtx, stopB := context.WithCancel(context.Background())
	bErr := make(chan error, 1)
	go func() { bErr <- b.Run(bCtx) }()
	waitFor(t, "member b to take partitions", 60*time.Second, func() bool { return bDone.Load() > 1000 })
	waitFor(t, "half the stream", 60*time.Second, func() bool { return verdictCount(t, adm) >= n/2 })

	// Crash a: no drain, no commit, no leave-group.
	t.Logf("killing member a with %d verdicts written, %d by b", verdictCount(t, adm), bDone.Load())
	if err := a.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.Wait()
	time.Sleep(500 * time.Millisecond)
	a2 := startMemberProcess(t, brokers, delivery, "a")

	committed := delivery == config.ExactlyOnce
	counts := map[string]int{}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		got := readTopic(t, brokers, "verdicts", n, committed, 10*time.Second)
		clear(counts)
		t.Logf("read %d verdicts", len(got))
		for _, r := range got {
			counts[string(r.Key)]++
		}
		if len(counts) >= n || time.Now().After(deadline) {
			break
		}
	}
	_ = a2.Process.Signal(syscall.SIGTERM)
	stopB()
	if err := <-bErr; err != nil {
		t.Errorf("member b: %v", err)
	}
	if err := a2.Wait(); err != nil {
		t.Errorf("restarted member a: %v", err)
	}

	missing, dups := 0, 0
	for i := range n {
		c := counts[string(key(i))]
		if c == 0 {
			missing++
		}
		if c > 1 {
			dups += c - 1
		}
	}
	t.Logf("%s: %d ids, %d missing, %d duplicate verdicts", delivery, n, missing, dups)
	if missing > 0 {
		t.Fatalf("%d of %d messages have no verdict", missing, n)
	}
	if delivery == config.ExactlyOnce && dups > 0 {
		t.Fatalf("exactly-once: %d duplicate verdicts", dups)
	}
}
