package cache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/redistest"
	"github.com/sieve-stream/sieve/internal/resilience"
	"github.com/sieve-stream/sieve/pipeline"
)

// counting is a classify stand-in that scores len(text)/100 and counts texts.
type counting struct{ n atomic.Int64 }

func (c *counting) Name() string { return "classify" }
func (c *counting) Process(_ context.Context, items []*pipeline.Item) error {
	for _, it := range items {
		c.n.Add(1)
		it.SetScore("spam", float64(len(it.Text()))/100, "count@1")
	}
	return nil
}

func items(texts ...string) []*pipeline.Item {
	out := make([]*pipeline.Item, len(texts))
	for i, t := range texts {
		out[i] = &pipeline.Item{Msg: &contract.Message{Text: t}}
	}
	return out
}

func TestScoresEachDistinctTextOnce(t *testing.T) {
	inner := &counting{}
	s := New(inner, Options{Version: "v1"})
	batch := items("free prize", "FREE   prize", "fr33 prize", "hello there", "free prize")
	if err := s.Process(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	// Three spellings normalise to one text.
	if n := inner.n.Load(); n != 2 {
		t.Fatalf("scored %d texts, want 2", n)
	}
	for _, it := range batch {
		if _, ok := it.Score("spam"); !ok || it.Models["spam"] != "count@1" {
			t.Fatalf("%q has no score", it.Text())
		}
	}
	again := items("free prize", "hello there")
	if err := s.Process(context.Background(), again); err != nil {
		t.Fatal(err)
	}
	if inner.n.Load() != 2 || !again[0].Cached || !again[1].Cached {
		t.Fatalf("second batch not served from the LRU (scored %d)", inner.n.Load())
	}
	// A new model set version never reads old scores.
	s2 := New(inner, Options{Version: "v2"})
	s2.lru = s.lru
	if err := s2.Process(context.Background(), items("free prize")); err != nil {
		t.Fatal(err)
	}
	if inner.n.Load() != 3 {
		t.Fatalf("version change served stale scores")
	}
}

// slow blocks until released, so concurrent batches overlap.
type slow struct {
	counting
	release chan struct{}
}

func (s *slow) Process(ctx context.Context, items []*pipeline.Item) error {
	<-s.release
	return s.counting.Process(ctx, items)
}

func TestConcurrentIdenticalTextsScoredOnce(t *testing.T) {
	inner := &slow{release: make(chan struct{})}
	s := New(inner, Options{Version: "v"})
	var wg sync.WaitGroup
	batches := make([][]*pipeline.Item, 8)
	for i := range batches {
		batches[i] = items("same campaign text", "unique "+[]string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}[i])
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Process(context.Background(), batches[i]); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(inner.release)
	wg.Wait()
	if n := inner.n.Load(); n != 9 {
		t.Fatalf("scored %d texts, want 9 (8 unique + the shared one once)", n)
	}
	for _, b := range batches {
		if _, ok := b[0].Score("spam"); !ok {
			t.Fatal("a waiting batch got no score")
		}
	}
}

// Two replicas share scores through Redis.
func TestRedisSharedBetweenReplicas(t *testing.T) {
	srv := redistest.Start(t, false)
	rc, err := redis.New(redis.Config{Addrs: []string{srv.Addr}, Prefix: fmt.Sprintf("test-%d:", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	a, b := &counting{}, &counting{}
	ra := New(a, Options{Version: "v", Store: rc})
	rb := New(b, Options{Version: "v", Store: rc})
	if err := ra.Process(context.Background(), items("buy cheap meds", "hello")); err != nil {
		t.Fatal(err)
	}
	got := items("buy cheap meds", "hello", "new one")
	if err := rb.Process(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	if n := b.n.Load(); n != 1 {
		t.Fatalf("replica b scored %d texts, want 1 (two came from Redis)", n)
	}
	if !got[0].Cached || !got[1].Cached || got[2].Cached {
		t.Fatal("cached flags wrong")
	}
}

// With Redis down, the stage carries on in-process and says so; it
// returns to Redis after it comes back.
func TestRedisDownCarriesOn(t *testing.T) {
	srv := redistest.Start(t, true)
	rc, err := redis.New(redis.Config{Addrs: []string{srv.Addr}, Timeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	inner := &counting{}
	s := New(inner, Options{Version: "v", Store: rc, BreakerThreshold: 2, BreakerCooldown: 100 * time.Millisecond})
	srv.Stop()
	for i := range 5 {
		start := time.Now()
		b := items(fmt.Sprintf("text %d", i))
		if err := s.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if _, ok := b[0].Score("spam"); !ok {
			t.Fatal("no score while Redis is down")
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("a batch waited %s on a dead Redis", d)
		}
	}
	if s.br.State() == resilience.BreakerClosed {
		t.Fatal("breaker still closed with Redis down")
	}
	srv.Restart()
	time.Sleep(150 * time.Millisecond)
	for i := range 3 {
		if err := s.Process(context.Background(), items(fmt.Sprintf("after %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if s.br.State() != resilience.BreakerClosed {
		t.Fatalf("breaker %v after Redis came back", s.br.State())
	}
	if n := rc.DBSize(context.Background()).Val(); n == 0 {
		t.Fatal("nothing written to Redis after it came back")
	}
}

func BenchmarkCacheHit(b *testing.B) {
	s := New(&counting{}, Options{Version: "v"})
	texts := make([]string, 256)
	for i := range texts {
		texts[i] = "a typical short post by user " + string(rune('a'+i%26)) + string(rune('a'+i%7))
	}
	for b.Loop() {
		if err := s.Process(context.Background(), items(texts...)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "texts/s")
}
