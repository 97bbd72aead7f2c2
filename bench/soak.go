package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/internal/redistest"
	"github.com/sieve-stream/sieve/service"
	"github.com/sieve-stream/sieve/traffic"
	"github.com/twmb/franz-go/pkg/kgo"
	"gopkg.in/yaml.v3"
)

// SoakOptions configure a soak: member processes of `sieve run` under
// faults, checked for what they lose and repeat.
type SoakOptions struct {
	// Binary is the sieve executable the members run (`sieve run`).
	Binary   string
	Messages int
	Members  int
	Delivery string // at_least_once or exactly_once
	// KillEvery SIGKILLs one member (in turn) this often and starts it
	// again; RedisEvery restarts redis-server this often. Zero: never.
	KillEvery, RedisEvery time.Duration
	Partitions            int32
	Seed                  uint64
	// Dir holds the members' configs and logs.
	Dir     string
	Timeout time.Duration
	// Progress, when set, gets a line now and then.
	Progress io.Writer
}

// SoakResult is what a soak found.
type SoakResult struct {
	Messages   int     `json:"messages"`
	Delivery   string  `json:"delivery"`
	Seconds    float64 `json:"seconds"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	Missing    int     `json:"missing"`
	Duplicates int     `json:"duplicates"`
	Kills      int     `json:"kills"`
	RedisRuns  int     `json:"redis_restarts"`
	// PeakRSSMB is, per member slot, the highest resident set of any of
	// its processes (VmHWM), in MiB.
	PeakRSSMB []float64 `json:"peak_rss_mb"`
}

// Soak seeds Messages records into a broker in this process, runs Members
// `sieve run` processes over them with Redis for the cache and signals,
// SIGKILLs a member every KillEvery and restarts Redis every RedisEvery,
// and reads every output back: each input key must have an output (a
// verdict or a dead letter), and in exactly-once mode exactly one.
func Soak(ctx context.Context, o SoakOptions) (*SoakResult, error) {
	if o.Members <= 0 {
		o.Members = 2
	}
	if o.Partitions <= 0 {
		o.Partitions = 6
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Hour
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	broker, err := kafka.StartBroker(0, "")
	if err != nil {
		return nil, err
	}
	defer broker.Close()
	brokers := broker.Addrs()
	rd, err := redistest.NewProcess(o.Dir)
	if err != nil {
		return nil, err
	}
	defer rd.Stop()

	cfg := config.Default()
	cfg.Delivery = o.Delivery
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Partitions = o.Partitions
	cfg.Kafka.Group = "soak"
	cfg.Kafka.Topics.Input = []string{inputTopic}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := service.CreateTopics(ctx, cfg, brokers); err != nil {
		return nil, err
	}
	paths, err := writeSoakConfigs(o, brokers, rd.Addr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Progress, "seeding %d messages...\n", o.Messages)
	if err := seedSoak(ctx, brokers, o); err != nil {
		return nil, err
	}

	res := &SoakResult{Messages: o.Messages, Delivery: o.Delivery, PeakRSSMB: make([]float64, o.Members)}
	members := make([]*soakMember, o.Members)
	for i := range members {
		if members[i], err = startSoakMember(o, paths[i], i); err != nil {
			return nil, err
		}
	}
	defer func() {
		for _, m := range members {
			m.kill()
		}
	}()

	counts := make([]uint8, o.Messages)
	var mu sync.Mutex
	seen := 0
	readCtx, stopRead := context.WithCancel(ctx)
	defer stopRead()
	readErr := make(chan error, 1)
	go func() {
		readErr <- readSoakOutputs(readCtx, brokers, cfg, func(key []byte) {
			i, err := strconv.Atoi(string(key))
			if err != nil || i < 0 || i >= len(counts) {
				return
			}
			mu.Lock()
			if counts[i] == 0 {
				seen++
			}
			if counts[i] < 255 {
				counts[i]++
			}
			mu.Unlock()
		})
	}()

	start := time.Now()
	var kill, redis <-chan time.Time
	if o.KillEvery > 0 {
		t := time.NewTicker(o.KillEvery)
		defer t.Stop()
		kill = t.C
	}
	if o.RedisEvery > 0 {
		t := time.NewTicker(o.RedisEvery)
		defer t.Stop()
		redis = t.C
	}
	rss := time.NewTicker(500 * time.Millisecond)
	defer rss.Stop()
	report := time.NewTicker(10 * time.Second)
	defer report.Stop()
	deadline := time.After(o.Timeout)
	next := 0
	progress := func() int {
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
	for progress() < o.Messages {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline:
			return nil, fmt.Errorf("soak: %d of %d messages out after %s", progress(), o.Messages, o.Timeout)
		case err := <-readErr:
			return nil, fmt.Errorf("read outputs: %w", err)
		case <-rss.C:
			for i, m := range members {
				res.PeakRSSMB[i] = max(res.PeakRSSMB[i], m.peakRSS())
			}
		case <-report.C:
			fmt.Fprintf(o.Progress, "%6.0fs  %d of %d out  kills %d  redis restarts %d\n", time.Since(start).Seconds(), progress(), o.Messages, res.Kills, res.RedisRuns)
		case <-kill:
			m := members[next]
			res.PeakRSSMB[next] = max(res.PeakRSSMB[next], m.peakRSS())
			m.kill()
			if members[next], err = startSoakMember(o, paths[next], next); err != nil {
				return nil, err
			}
			res.Kills++
			next = (next + 1) % len(members)
		case <-redis:
			// A restart loses every key: the members' cache and signals
			// carry on through their breakers and in-process fallbacks.
			rd.Stop()
			if err := rd.Start(); err != nil {
				return nil, err
			}
			res.RedisRuns++
		}
	}
	elapsed := time.Since(start)
	// Outputs of records a killed member produced but had not committed
	// come late, as duplicates: give them time to show up.
	time.Sleep(5 * time.Second)
	for i, m := range members {
		res.PeakRSSMB[i] = max(res.PeakRSSMB[i], m.peakRSS())
		m.stop()
	}
	time.Sleep(2 * time.Second)
	stopRead()
	<-readErr
	mu.Lock()
	defer mu.Unlock()
	for _, c := range counts {
		switch {
		case c == 0:
			res.Missing++
		case c > 1:
			res.Duplicates += int(c) - 1
		}
	}
	res.Seconds = round(elapsed.Seconds(), 1)
	res.MsgsPerSec = round(float64(o.Messages)/elapsed.Seconds(), 0)
	for i := range res.PeakRSSMB {
		res.PeakRSSMB[i] = round(res.PeakRSSMB[i], 1)
	}
	return res, nil
}

// seedSoak writes the messages, keyed by their index, in the standard mix.
func seedSoak(ctx context.Context, brokers []string, o SoakOptions) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		return err
	}
	defer cl.Close()
	gen := traffic.New(o.Seed, traffic.DefaultMix, 64<<10)
	var firstErr error
	var once sync.Once
	for i := range o.Messages {
		m := gen.Next()
		cl.Produce(ctx, &kgo.Record{Topic: inputTopic, Key: strconv.AppendInt(nil, int64(i), 10), Value: m.Value}, func(_ *kgo.Record, err error) {
			if err != nil {
				once.Do(func() { firstErr = err })
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	return firstErr
}

// writeSoakConfigs writes one sieve.yaml per member: the defaults with the
// rules baseline as the classifier (a verdict of 16 labels for 10M
// messages would not fit the in-memory broker), Redis for the cache and
// signals, and a transactional id of the member's own.
func writeSoakConfigs(o SoakOptions, brokers []string, redisAddr string) ([]string, error) {
	var paths []string
	for i := range o.Members {
		doc := map[string]any{
			"delivery": o.Delivery,
			"kafka": map[string]any{
				"brokers": brokers, "group": "soak", "partitions": o.Partitions,
				"transactional_id": fmt.Sprintf("soak-%d", i),
				"topics":           map[string]any{"input": []string{inputTopic}},
				"session_timeout":  "6s", "rebalance_timeout": "10s",
			},
			"classifiers": []map[string]any{{"type": "rules"}},
			"redis":       map[string]any{"addrs": []string{redisAddr}},
			"http":        map[string]any{"addr": "127.0.0.1:0"}, // two members on one host
		}
		b, err := yaml.Marshal(doc)
		if err != nil {
			return nil, err
		}
		p := filepath.Join(o.Dir, fmt.Sprintf("member-%d.yaml", i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, err
		}
		if _, err := config.Load(p); err != nil {
			return nil, fmt.Errorf("soak config: %w", err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// readSoakOutputs calls fn with the key of every verdict and dead letter
// (committed ones only in exactly-once mode) until ctx ends.
func readSoakOutputs(ctx context.Context, brokers []string, cfg *config.Config, fn func(key []byte)) error {
	cl, err := outputReader(brokers, cfg)
	if err != nil {
		return err
	}
	defer cl.Close()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil && !errors.Is(ferr, context.Canceled) {
			return ferr
		}
		fs.EachRecord(func(r *kgo.Record) { fn(r.Key) })
	}
	return nil
}

// soakMember is one `sieve run` process.
type soakMember struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	peak float64 // MiB, last read
}

func startSoakMember(o SoakOptions, config string, slot int) (*soakMember, error) {
	log, err := os.OpenFile(filepath.Join(o.Dir, fmt.Sprintf("member-%d.log", slot)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(o.Binary, "run", "-c", config)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start member %d: %w", slot, err)
	}
	m := &soakMember{cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(m.done)
	}()
	return m, nil
}

// peakRSS reads the process's peak resident set (VmHWM) in MiB; after the
// process ended, the last reading.
func (m *soakMember) peakRSS() float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", m.cmd.Process.Pid))
	if err != nil {
		return m.peak
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			if kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64); err == nil {
				m.peak = max(m.peak, kb/1024)
			}
		}
	}
	return m.peak
}

// kill is the fault: SIGKILL, no shutdown.
func (m *soakMember) kill() {
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
}

// stop is a clean shutdown (SIGTERM), SIGKILL after 30 s.
func (m *soakMember) stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		m.kill()
	}
}
