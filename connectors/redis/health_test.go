package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sieve-stream/sieve/cache"
	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/redistest"
	"github.com/sieve-stream/sieve/internal/resilience"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/signals"
)

type scorer struct{}

func (scorer) Name() string { return "classify" }
func (scorer) Process(_ context.Context, items []*pipeline.Item) error {
	for _, it := range items {
		it.SetScore("spam", 0.1, "test@1")
	}
	return nil
}

// metric is the one series of the named family in reg.
func metric(t *testing.T, reg *prometheus.Registry, name string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0]
		}
	}
	t.Fatalf("%s not registered", name)
	return nil
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	return metric(t, reg, name).GetGauge().GetValue()
}

// The verdict cache and the campaign signals share one breaker: when the
// signals stage sees Redis go, sieve_redis_up drops and the cache stops
// asking Redis at the same moment; when Redis returns, the breaker closes
// after three good trials, once, without flapping.
func TestOneBreakerForEveryRedisUser(t *testing.T) {
	srv := redistest.Start(t, true)
	rc, err := redis.New(redis.Config{Addrs: []string{srv.Addr}, Timeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	reg := prometheus.NewRegistry()
	redis.Watch(reg, rc, nil)
	var changes []string
	watch := rc.Breaker().OnChange
	rc.Breaker().OnChange = func(from, to resilience.BreakerState) {
		changes = append(changes, to.String())
		watch(from, to)
	}
	sig := signals.New(signals.Options{Store: redis.NewSignals(rc), Breaker: rc.Breaker()})
	cm := cache.NewMetrics(reg)
	cached := cache.New(scorer{}, cache.Options{Version: "v", Store: rc, Breaker: rc.Breaker(), Metrics: cm})
	batch := func(i int) []*pipeline.Item {
		return []*pipeline.Item{{Msg: &contract.Message{Text: fmt.Sprintf("a message long enough to sign, number %d", i), Author: "a"}}}
	}
	if up := gauge(t, reg, "sieve_redis_up"); up != 1 {
		t.Fatalf("sieve_redis_up %v with Redis up", up)
	}

	srv.Stop()
	for i := range 3 {
		if err := sig.Process(context.Background(), batch(i)); err != nil {
			t.Fatal(err)
		}
	}
	if up := gauge(t, reg, "sieve_redis_up"); up != 0 {
		t.Fatalf("sieve_redis_up %v after the signals stage saw Redis fail three times", up)
	}
	b := batch(9)
	if err := cached.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if _, ok := b[0].Score("spam"); !ok {
		t.Fatal("the cache gave no score with Redis down")
	}
	if h := metric(t, reg, "sieve_redis_duration_seconds").GetHistogram().GetSampleCount(); h != 0 {
		t.Errorf("the cache asked Redis %d times although the shared breaker was open", h)
	}

	srv.Restart()
	changes = nil
	time.Sleep(2100 * time.Millisecond) // the breaker's cooldown
	for i := range 3 {
		if err := sig.Process(context.Background(), batch(10+i)); err != nil {
			t.Fatal(err)
		}
		want := 0.0
		if i == 2 {
			want = 1
		}
		if up := gauge(t, reg, "sieve_redis_up"); up != want {
			t.Fatalf("after %d good trials sieve_redis_up is %v, want %v", i+1, up, want)
		}
	}
	if fmt.Sprint(changes) != "[half_open closed]" {
		t.Fatalf("state changes after Redis came back: %v, want [half_open closed]", changes)
	}
}
