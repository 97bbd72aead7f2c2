package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/classifiers/remote"
	"github.com/sieve-stream/sieve/models"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/service"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// serveModel runs a v2 inference server with the built-in spam model on
// addr ("127.0.0.1:0" picks a port); stop closes it abruptly.
func serveModel(t *testing.T, addr string) (string, func()) {
	t.Helper()
	spam, err := models.Builtin("spam")
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	for range 50 { // the old listener's port may take a moment to free
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: remote.NewHandler(spam)}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }
}

// TestRemoteBackendStopsAnswering runs the pipeline against a remote model
// server that goes away mid-stream and comes back: the breaker opens,
// consumption pauses, nothing is dead-lettered or lost, and it resumes.
func TestRemoteBackendStopsAnswering(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds of server downtime; skipped with -short")
	}
	addr, stop := serveModel(t, "127.0.0.1:0")
	brokers := startBroker(t)
	cfg := testConfig(t, brokers, 3)
	cfg.Classifiers = []classifiers.Config{{Type: "remote", Spec: &remote.Type{Remote: &remote.Config{URL: "http://" + addr, Model: "spam", Timeout: 300 * time.Millisecond}}}}
	cfg.Signals.Disabled = true
	cfg.Pipeline.Retries = 1
	cfg.Pipeline.BackoffInitial = 10 * time.Millisecond
	cfg.Pipeline.Breaker.Threshold = 2
	cfg.Pipeline.Breaker.Cooldown = 200 * time.Millisecond
	cfg.Pipeline.Batch.MaxItems = 50
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := service.CreateTopics(context.Background(), cfg, brokers); err != nil {
		t.Fatal(err)
	}
	const n = 6000
	recs := make([]*kgo.Record, n)
	for i := range recs {
		// Distinct words, not numbers: numbers normalise to one placeholder
		// and the verdict cache would answer for the model.
		v, _ := json.Marshal(map[string]string{"text": fmt.Sprintf("message %s %s %s: free entry to win, txt now",
			words[i%12], words[(i/12)%12], words[(i/144)%12])})
		recs[i] = &kgo.Record{Topic: "posts", Key: key(i), Value: v}
	}
	produceAll(t, newClient(t, brokers), recs)

	metrics := pipeline.NewMetrics(nil)
	pause := pipeline.StageFunc{StageName: "pace", Fn: func(ctx context.Context, _ []*pipeline.Item) error {
		time.Sleep(2 * time.Millisecond)
		return nil
	}}
	app, err := service.NewApp(cfg, service.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	stages := app.Stages
	m, err := service.NewMember(cfg, service.MemberOptions{Stages: append([]pipeline.Stage{pause}, stages...), Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	adm := kadm.NewClient(newClient(t, brokers))
	waitFor(t, "verdicts before the outage", time.Minute, func() bool { return verdictCount(t, adm) >= 1000 })

	stop()
	waitFor(t, "consumption to pause", 10*time.Second, func() bool { return testutil.ToFloat64(metrics.Paused) == 1 })
	during := verdictCount(t, adm)
	time.Sleep(time.Second)
	if after := verdictCount(t, adm); after > during+100 {
		t.Errorf("verdicts kept coming while the model was away: %d → %d", during, after)
	}
	t.Logf("paused at %d verdicts", during)

	_, stop2 := serveModel(t, addr)
	defer stop2()
	got := readTopic(t, brokers, "verdicts", n, false, time.Minute)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if testutil.ToFloat64(metrics.Paused) != 0 {
		t.Error("consumption still paused after the model came back")
	}
	requireEveryKey(t, got, n)
	if dead := readTopic(t, brokers, "dead-letters", 0, false, 2*time.Second); len(dead) != 0 {
		t.Fatalf("%d dead letters while the backend was away", len(dead))
	}
}
