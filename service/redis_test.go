package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/internal/redistest"
	"github.com/sieve-stream/sieve/service"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRedisKilledMidStream kills redis-server while the pipeline runs and
// restarts it: every message still gets its verdict, and the cache writes
// to Redis again once it is back.
func TestRedisKilledMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 20,000-message stream; skipped with -short")
	}
	brokers := startBroker(t)
	srv := redistest.Start(t, true)
	cfg := memberConfig(brokers, "at_least_once", "redis")
	cfg.Kafka.Group = "sieve-redis"
	cfg.Redis = redis.Config{Addrs: []string{srv.Addr}}
	cfg.EnsureDefaults()
	if err := service.CreateTopics(context.Background(), cfg, brokers); err != nil {
		t.Fatal(err)
	}
	const n = 20_000
	recs := make([]*kgo.Record, n)
	for i := range recs {
		// Half the texts repeat, so the cache has work to do.
		text := fmt.Sprintf("post %s about the weekend market", words[i%len(words)])
		if i%2 == 0 {
			text = fmt.Sprintf("unique post %d %s %s", i, words[(i/7)%len(words)], words[(i/3)%len(words)])
		}
		v, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("m-%d", i), "text": text, "author": fmt.Sprintf("u-%d", i%500)})
		recs[i] = &kgo.Record{Topic: "posts", Key: key(i), Value: v}
	}
	produceAll(t, newClient(t, brokers), recs)
	adm := kadm.NewClient(newClient(t, brokers))

	stages, closeStages := slowStages(cfg)
	defer closeStages()
	m, err := service.NewMember(cfg, service.MemberOptions{Stages: stages})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	waitFor(t, "a quarter of the stream", time.Minute, func() bool { return verdictCount(t, adm) >= n/4 })
	srv.Stop()
	t.Logf("redis killed at %d verdicts", verdictCount(t, adm))
	waitFor(t, "progress without redis", time.Minute, func() bool { return verdictCount(t, adm) >= n/2 })
	srv.Restart()
	t.Logf("redis restarted at %d verdicts", verdictCount(t, adm))

	got := readTopic(t, brokers, "verdicts", n, false, 2*time.Minute)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	requireEveryKey(t, got, n)
	rc, _ := redis.New(redis.Config{Addrs: []string{srv.Addr}})
	defer rc.Close()
	if keys := rc.DBSize(context.Background()).Val(); keys == 0 {
		t.Fatal("nothing in Redis after it came back: the cache never resumed using it")
	} else {
		t.Logf("%d keys in Redis after the restart", keys)
	}
}

var words = []string{"apple", "bread", "cheese", "dates", "eggs", "figs", "grapes", "honey", "ice", "jam", "kale", "lemons"}
