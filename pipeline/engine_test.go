package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/resilience"
)

// memSource is a finite in-memory Source for engine tests.
type memSource struct {
	mu      sync.Mutex
	recs    []*Record
	chunk   int
	commits map[Partition]int64
	paused  atomic.Int32
	pauses  atomic.Int32
}

func newMemSource(parts, perPart int, value func(p, i int) string) *memSource {
	s := &memSource{chunk: 97, commits: map[Partition]int64{}}
	for i := range perPart {
		for p := range parts {
			s.recs = append(s.recs, &Record{Position: Position{Partition: Partition{"in", int32(p)}, Offset: int64(i)},
				Key: fmt.Appendf(nil, "k-%d-%d", p, i), Value: []byte(value(p, i))})
		}
	}
	return s
}

func (s *memSource) Poll(ctx context.Context) ([]*Record, error) {
	for s.paused.Load() > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recs) == 0 {
		return nil, io.EOF
	}
	n := min(s.chunk, len(s.recs))
	out := s.recs[:n]
	s.recs = s.recs[n:]
	return out, nil
}
func (s *memSource) Release() {}
func (s *memSource) Commit(_ context.Context, cs []Commit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		if c.Offset < s.commits[c.Partition] {
			return fmt.Errorf("commit went backwards on %v: %d < %d", c.Partition, c.Offset, s.commits[c.Partition])
		}
		s.commits[c.Partition] = c.Offset
	}
	return nil
}
func (s *memSource) Pause()  { s.paused.Add(1); s.pauses.Add(1) }
func (s *memSource) Resume() { s.paused.Add(-1) }

// memSink acknowledges asynchronously, in random order across partitions.
type memSink struct {
	mu   sync.Mutex
	outs []Output
	wg   sync.WaitGroup
	fail func(*Output) error
}

func (s *memSink) Produce(_ context.Context, out *Output) {
	s.mu.Lock()
	s.outs = append(s.outs, Output{Topic: out.Topic, Key: out.Key, Value: out.Value, Headers: out.Headers})
	s.mu.Unlock()
	var err error
	if s.fail != nil {
		err = s.fail(out)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
		out.Ack(err)
	}()
}
func (s *memSink) Flush(context.Context) error { s.wg.Wait(); return nil }

func (s *memSink) byTopic(topic string) []Output {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Output
	for _, o := range s.outs {
		if o.Topic == topic {
			out = append(out, o)
		}
	}
	return out
}

func TestEngineKeepsOffsetOrderPerPartition(t *testing.T) {
	src := newMemSource(4, 2000, func(p, i int) string { return fmt.Sprintf(`{"text":"p%d i%d"}`, p, i) })
	sink := &memSink{}
	jitter := StageFunc{StageName: "jitter", Fn: func(ctx context.Context, items []*Item) error {
		time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
		return nil
	}}
	e := New(src, sink, Options{Stages: []Stage{jitter}, Workers: 8, Batch: BatchOptions{MaxItems: 16, Linger: time.Millisecond},
		CommitInterval: 5 * time.Millisecond})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	last := map[string]int{}
	verdicts := sink.byTopic("verdicts")
	if len(verdicts) != 8000 {
		t.Fatalf("%d verdicts, want 8000", len(verdicts))
	}
	for _, o := range verdicts {
		var p, i int
		if _, err := fmt.Sscanf(string(o.Key), "k-%d-%d", &p, &i); err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprint(p)
		if prev, ok := last[k]; ok && i != prev+1 {
			t.Fatalf("partition %d: offset %d produced after %d", p, i, prev)
		}
		last[k] = i
	}
	for p := range 4 {
		if got := src.commits[Partition{"in", int32(p)}]; got != 2000 {
			t.Errorf("partition %d committed %d, want 2000", p, got)
		}
	}
	if e.InFlight() != 0 {
		t.Errorf("%d records still in flight", e.InFlight())
	}
}

func TestEngineRetriesTransientErrors(t *testing.T) {
	src := newMemSource(2, 300, func(p, i int) string { return "plain text message" })
	sink := &memSink{}
	// Every batch fails twice, then succeeds.
	var mu sync.Mutex
	attempts := map[*Item]int{}
	flaky := StageFunc{StageName: "flaky", Fn: func(ctx context.Context, items []*Item) error {
		mu.Lock()
		defer mu.Unlock()
		attempts[items[0]]++
		if attempts[items[0]] <= 2 {
			return Transient(errors.New("backend busy"))
		}
		return nil
	}}
	e := New(src, sink, Options{Stages: []Stage{flaky}, MaxRetries: 5, Backoff: resilience.Backoff{Initial: time.Microsecond, Max: time.Millisecond},
		BreakerThreshold: 1000})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(sink.byTopic("verdicts")); n != 600 {
		t.Fatalf("%d verdicts, want 600 (dead letters: %d)", n, len(sink.byTopic("dead-letters")))
	}
	for first, n := range attempts {
		if n != 3 {
			t.Fatalf("batch starting at %v tried %d times, want 3", first.Record.Position, n)
		}
	}
}

func TestEngineDeadLettersAfterRetries(t *testing.T) {
	src := newMemSource(1, 50, func(p, i int) string { return "text" })
	sink := &memSink{}
	down := StageFunc{StageName: "down", Fn: func(context.Context, []*Item) error { return Transient(errors.New("connection refused")) }}
	e := New(src, sink, Options{Stages: []Stage{down}, MaxRetries: 2, Backoff: resilience.Backoff{Initial: time.Microsecond, Max: time.Microsecond},
		BreakerThreshold: 1000})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	dead := sink.byTopic("dead-letters")
	if len(dead) != 50 {
		t.Fatalf("%d dead letters, want 50", len(dead))
	}
	if h := header(dead[0], contract.HeaderError); h != string(contract.ReasonStageFailed) {
		t.Fatalf("reason %q", h)
	}
	if h := header(dead[0], contract.HeaderStage); h != "down" {
		t.Fatalf("stage %q", h)
	}
}

// While a backend is down the breaker opens and consumption pauses instead of
// dead-lettering; when it comes back everything gets its verdict.
func TestEnginePausesWhileBreakerOpen(t *testing.T) {
	src := newMemSource(2, 500, func(p, i int) string { return "text" })
	sink := &memSink{}
	var up atomic.Bool
	backend := StageFunc{StageName: "remote", Fn: func(context.Context, []*Item) error {
		if !up.Load() {
			return Transient(errors.New("no route to host"))
		}
		return nil
	}}
	e := New(src, sink, Options{Stages: []Stage{backend}, MaxRetries: 1, Backoff: resilience.Backoff{Initial: time.Microsecond, Max: time.Millisecond},
		BreakerThreshold: 3, BreakerCooldown: 20 * time.Millisecond, PauseOnOpenBreaker: true})
	go func() {
		time.Sleep(150 * time.Millisecond)
		up.Store(true)
	}()
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(sink.byTopic("dead-letters")); n != 0 {
		t.Fatalf("%d dead letters while paused", n)
	}
	if n := len(sink.byTopic("verdicts")); n != 1000 {
		t.Fatalf("%d verdicts, want 1000", n)
	}
	if src.pauses.Load() == 0 {
		t.Fatal("consumption never paused")
	}
	if src.paused.Load() != 0 {
		t.Fatal("consumption still paused after the backend recovered")
	}
}

func TestEngineDeadLettersWhenVerdictCannotBeProduced(t *testing.T) {
	src := newMemSource(1, 20, func(p, i int) string { return "text" })
	sink := &memSink{fail: func(o *Output) error {
		if o.Topic == "verdicts" {
			return errors.New("MESSAGE_TOO_LARGE")
		}
		return nil
	}}
	e := New(src, sink, Options{})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	dead := sink.byTopic("dead-letters")
	if len(dead) != 20 || header(dead[0], contract.HeaderError) != "produce_failed" {
		t.Fatalf("%d dead letters, first reason %q", len(dead), header(dead[0], contract.HeaderError))
	}
}

func TestEngineStopsWhenDeadLetterFails(t *testing.T) {
	src := newMemSource(1, 20, func(p, i int) string { return "{bad json" })
	sink := &memSink{fail: func(*Output) error { return errors.New("topic authorization failed") }}
	err := New(src, sink, Options{}).Run(context.Background())
	if err == nil {
		t.Fatal("a dead letter that cannot be written must stop the pipeline")
	}
	if len(src.commits) != 0 {
		t.Fatalf("committed %v past an unwritten dead letter", src.commits)
	}
}

func header(o Output, k string) string {
	for _, h := range o.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

func BenchmarkEngineNop(b *testing.B) {
	value := `{"v":1,"id":"m-1","text":"the new update is great, thanks for sharing","author":"u-42","channel":"comments","ts":"2026-11-27T10:00:00Z"}`
	src := newMemSource(6, b.N/6+1, func(p, i int) string { return value })
	src.chunk = 2000
	sink := &memSink{}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if err := New(src, sink, Options{Stages: []Stage{Nop}, Batch: BatchOptions{MaxItems: 1024}}).Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(sink.outs))/time.Since(start).Seconds(), "msgs/s")
}

// orderedStage records the offsets it is shown per partition.
type orderedStage struct {
	mu   sync.Mutex
	seen map[Partition][]int64
}

func (s *orderedStage) Name() string  { return "ordered" }
func (s *orderedStage) InOrder() bool { return true }
func (s *orderedStage) Process(_ context.Context, items []*Item) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		s.seen[it.Record.Partition] = append(s.seen[it.Record.Partition], it.Record.Offset)
	}
	return nil
}

// An Ordered stage sees each partition's live items in offset order while
// eight workers run batches out of order, and batches that fail before it
// (whole, or item by item) still let later ones through.
func TestOrderedStageSeesOffsetOrder(t *testing.T) {
	src := newMemSource(3, 3000, func(p, i int) string {
		if i%97 == 0 {
			return `{"text": broken`
		}
		return fmt.Sprintf(`{"text":"p%d i%d"}`, p, i)
	})
	sink := &memSink{}
	var calls atomic.Int64
	jitter := StageFunc{StageName: "jitter", Fn: func(ctx context.Context, items []*Item) error {
		time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
		if calls.Add(1)%13 == 0 {
			return errors.New("this batch fails before the ordered stage")
		}
		return nil
	}}
	ord := &orderedStage{seen: map[Partition][]int64{}}
	e := New(src, sink, Options{Stages: []Stage{jitter, ord}, Workers: 8, Batch: BatchOptions{MaxItems: 5, Linger: time.Millisecond},
		BreakerThreshold: 1 << 30})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(ord.seen) != 3 {
		t.Fatalf("the ordered stage saw %d partitions, want 3", len(ord.seen))
	}
	total := 0
	for p, offs := range ord.seen {
		total += len(offs)
		for i := 1; i < len(offs); i++ {
			if offs[i] <= offs[i-1] {
				t.Fatalf("%v: offset %d after %d", p, offs[i], offs[i-1])
			}
		}
	}
	if total == 0 || total >= 9000 {
		t.Fatalf("the ordered stage saw %d items, want some but not all (failed batches and bad records skip it)", total)
	}
	if n := len(sink.byTopic("verdicts")) + len(sink.byTopic("dead-letters")); n != 9000 {
		t.Fatalf("%d outputs, want 9000", n)
	}
}
