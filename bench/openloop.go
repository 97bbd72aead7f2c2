package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/traffic"
	"github.com/twmb/franz-go/pkg/kgo"
)

// sentHeader carries a message's scheduled send time (Unix nanoseconds,
// big-endian) so that latency is measured from when the message was due,
// not from when a busy producer got round to it: an open-loop load test
// that timed from the actual send would hide the very queueing it is for.
const sentHeader = "sieve-bench-due"

// runOpenLoop produces o.Rate messages a second for o.Duration while the
// pipeline consumes them, and measures each message's latency from its
// scheduled send time to its verdict.
func runOpenLoop(ctx context.Context, cfg *config.Config, brokers []string, cl *kgo.Client, o Options) (*Result, error) {
	n := int(o.Rate * o.Duration.Seconds())
	if n < 1 {
		return nil, fmt.Errorf("rate %.0f/s for %s is no message", o.Rate, o.Duration)
	}
	mix := o.Mix
	if mix == (traffic.Mix{}) {
		mix = traffic.DefaultMix
	}
	gen := o.generator(mix, cfg.Pipeline.MaxTextBytes)
	// Warm-up: one message per partition, so that the member has joined
	// its group and fetched before the clock starts.
	warm := int(o.Partitions)
	lat := make([]float64, 0, n)
	var latMu sync.Mutex
	var done atomic.Int64
	var lastNs atomic.Int64
	warmed := make(chan struct{})
	finished := make(chan struct{})
	total := int64(warm + n)
	m, err := startMember(ctx, cfg, brokers, o, func(it *pipeline.Item) {
		now := time.Now()
		for _, h := range it.Record.Headers {
			if h.Key == sentHeader && len(h.Value) == 8 {
				due := int64(binary.BigEndian.Uint64(h.Value))
				latMu.Lock()
				lat = append(lat, float64(now.UnixNano()-due)/1e6)
				latMu.Unlock()
			}
		}
		switch i := done.Add(1); {
		case i == int64(warm):
			close(warmed)
		case i == total:
			lastNs.Store(now.UnixNano())
			close(finished)
		}
	})
	if err != nil {
		return nil, err
	}
	defer m.close()
	keys := make([]string, 0, warm+n)
	invalid := 0
	var prodErr atomic.Pointer[error]
	produce := func(msg traffic.Message, due time.Time) {
		if msg.Kind.Invalid() {
			invalid++
		}
		keys = append(keys, msg.Key)
		r := &kgo.Record{Topic: inputTopic, Key: []byte(msg.Key), Value: msg.Value}
		if !due.IsZero() {
			r.Headers = []kgo.RecordHeader{{Key: sentHeader, Value: binary.BigEndian.AppendUint64(nil, uint64(due.UnixNano()))}}
		}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				prodErr.CompareAndSwap(nil, &err)
			}
		})
	}
	for range warm {
		produce(gen.Next(), time.Time{})
	}
	if err := m.wait(warmed, o.Timeout, func() string { return "no verdict for the warm-up messages" }); err != nil {
		return nil, err
	}

	// The schedule: message i is due at start + i/rate, whatever the
	// pipeline does meanwhile. The producer wakes every millisecond and
	// sends everything due.
	start := time.Now()
	interval := time.Duration(float64(time.Second) / o.Rate)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := 0; i < n; {
		due := min(n, int(time.Since(start)/interval)+1)
		for ; i < due; i++ {
			produce(gen.Next(), start.Add(time.Duration(i)*interval))
		}
		if i < n {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, err
	}
	if p := prodErr.Load(); p != nil {
		return nil, fmt.Errorf("produce: %w", *p)
	}
	if err := m.wait(finished, o.Timeout, func() string { return fmt.Sprintf("%d of %d messages done", done.Load(), total) }); err != nil {
		return nil, err
	}
	if err := m.close(); err != nil {
		return nil, err
	}
	elapsed := time.Duration(lastNs.Load() - start.UnixNano())
	res := &Result{Messages: n, Invalid: invalid, Delivery: cfg.Delivery, TargetRate: round(o.Rate, 0)}
	res.Seconds = round(elapsed.Seconds(), 3)
	res.MsgsPerSec = round(float64(n)/elapsed.Seconds(), 0)
	res.AchievedRate = res.MsgsPerSec
	res.Behind = res.AchievedRate < 0.95*o.Rate
	latMu.Lock()
	res.setPercentiles(lat)
	latMu.Unlock()
	if err := verify(ctx, brokers, cfg, keys, res); err != nil {
		return nil, err
	}
	return res, nil
}
