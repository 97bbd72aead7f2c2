// Package bench measures Sieve end to end: it seeds synthetic traffic into
// an embedded broker, runs the pipeline over it, reads every verdict and
// dead letter back, and reports throughput, latency, lost and duplicated
// messages; and, in the same run, a raw franz-go consume→produce copy loop
// over the same records, so the pipeline's cost reads as a ratio.
package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // the --media images
	_ "image/png"
	"io"
	"log/slog"
	"math"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/mapping"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/service"
	"github.com/sieve-stream/sieve/traffic"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Options configure one benchmark run.
type Options struct {
	Messages   int
	Partitions int32
	Seed       uint64
	Mix        traffic.Mix
	// Corpus, when set, makes the traffic real posts (traffic.Posts) in
	// place of the synthetic mix.
	Corpus *traffic.Corpus
	// Config is the pipeline's config; its kafka section is replaced by the
	// benchmark's embedded broker and topics.
	Config *config.Config
	// Stages override the config's (the no-op stage, a timed stand-in).
	Stages []pipeline.Stage
	// Copy also runs the raw copy loop.
	Copy    bool
	Logger  *slog.Logger
	Timeout time.Duration
	// CPUProfile, when set, receives a CPU profile of the pipeline phase.
	CPUProfile io.Writer
	// Media, when set, attaches one of these images (round robin) to every
	// valid message, inline as base64.
	Media [][]byte
	// AvroID, with Mapped, writes the other schema as Avro (MappedAvro),
	// framed for a schema registry that has it under this id.
	AvroID int
	// TracerProvider, when set, traces every record (sieve bench
	// --compare-tracing).
	TracerProvider trace.TracerProvider
	// Rate, when set, makes the run open-loop: messages are produced at
	// Rate a second for Duration while the pipeline consumes, and latency
	// is measured from each message's scheduled send time to its verdict.
	// Messages is then Rate × Duration.
	Rate     float64
	Duration time.Duration
	// Brokers, when set, is a broker to use (an empty one: the run creates
	// its topics) in place of one embedded in this process.
	Brokers []string
	// Mapped writes every valid message in another schema,
	// {"comment": {"id", "title", "body"}, "user": {"id"}, "meta": ...},
	// for a config whose input.mapping reads it (MappedInput).
	Mapped bool
}

// MappedInput is the input.mapping that reads Options.Mapped's schema.
var MappedInput = mapping.Input{Mapping: mapping.Config{ID: "comment.id", Text: mapping.Sources{"comment.title", "comment.body"},
	Author: "user.id", Tenant: "user.tenant", Channel: "comment.channel", TS: "comment.created_at"}}

// MappedAvro is the Avro schema of Options.Mapped's messages.
const MappedAvro = `{"type":"record","name":"Post","namespace":"bench","fields":[
 {"name":"comment","type":{"type":"record","name":"Comment","fields":[
  {"name":"id","type":"string"},{"name":"title","type":["null","string"],"default":null},{"name":"body","type":"string"},
  {"name":"channel","type":["null","string"],"default":null},{"name":"created_at","type":["null","string"],"default":null}]}},
 {"name":"user","type":{"type":"record","name":"User","fields":[
  {"name":"id","type":["null","string"],"default":null},{"name":"tenant","type":["null","string"],"default":null}]}}]}`

var mappedAvro = avro.MustParse(MappedAvro)

// remapAvro writes an envelope message in the Mapped schema as Avro, framed
// for schema id; a value that is not a JSON object is left as it is.
func remapAvro(value []byte, id int) []byte {
	var m struct {
		ID, Title, Text, Channel, TS, Author, Tenant string
	}
	if err := json.Unmarshal(value, &m); err != nil {
		return value
	}
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	body, err := avro.Marshal(mappedAvro, map[string]any{
		"comment": map[string]any{"id": m.ID, "title": opt(m.Title), "body": m.Text, "channel": opt(m.Channel), "created_at": opt(m.TS)},
		"user":    map[string]any{"id": opt(m.Author), "tenant": opt(m.Tenant)}})
	if err != nil {
		return value
	}
	var h sr.ConfluentHeader
	out, _ := h.AppendEncode(make([]byte, 0, 5+len(body)), id, nil)
	return append(out, body...)
}

// remap writes an envelope message in the Mapped schema; a value that is
// not a JSON object is left as it is.
func remap(value []byte) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(value, &m); err != nil {
		return value
	}
	comment := map[string]json.RawMessage{"id": m["id"], "title": m["title"], "body": m["text"], "channel": m["channel"], "created_at": m["ts"]}
	user := map[string]json.RawMessage{"id": m["author"], "tenant": m["tenant"]}
	for k, v := range comment {
		if v == nil {
			delete(comment, k)
		}
	}
	for k, v := range user {
		if v == nil {
			delete(user, k)
		}
	}
	out, err := json.Marshal(map[string]any{"comment": comment, "user": user, "meta": m["meta"]})
	if err != nil {
		return value
	}
	return out
}

// Result is what one run measured.
type Result struct {
	Messages    int     `json:"messages"`
	MsgsPerSec  float64 `json:"msgs_per_sec"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	P999ms      float64 `json:"p999_ms"`
	Lost        int     `json:"lost"`
	Duplicates  int     `json:"duplicates"`
	Verdicts    int     `json:"verdicts"`
	DeadLetters int     `json:"dead_letters"`
	Invalid     int     `json:"invalid"`
	Seconds     float64 `json:"seconds"`
	Delivery    string  `json:"delivery"`
	// Open-loop runs (Options.Rate): the rate asked for, the rate verdicts
	// came out at (messages over the time from the first scheduled send to
	// the last verdict), and whether the pipeline fell behind (achieved
	// under 95% of the target: latency then grows with the run's length).
	TargetRate   float64 `json:"target_rate,omitempty"`
	AchievedRate float64 `json:"achieved_rate,omitempty"`
	Behind       bool    `json:"behind,omitempty"`
	// CPUMicrosPerMsg is the process's CPU time (user and system, the
	// embedded broker's included) over the pipeline phase, per message:
	// steadier than the rate on a shared machine, where other tenants
	// take wall time but not this process's CPU time.
	CPUMicrosPerMsg float64 `json:"cpu_us_per_msg,omitempty"`
	// CopyMsgsPerSec is the raw copy loop's rate in the same run (0 when
	// not run); Ratio is MsgsPerSec over it.
	CopyMsgsPerSec float64 `json:"copy_msgs_per_sec,omitempty"`
	Ratio          float64 `json:"ratio_to_copy,omitempty"`
	// Cache figures (sieve bench --compare-cache).
	CacheHitRatio      float64 `json:"cache_hit_ratio,omitempty"`
	UncachedMsgsPerSec float64 `json:"uncached_msgs_per_sec,omitempty"`
	CacheSpeedup       float64 `json:"cache_speedup,omitempty"`
	// The classifier alone on the same texts (sieve bench --onnx), or the
	// NSFW model alone on the same images (sieve bench --media).
	DirectMsgsPerSec float64 `json:"direct_msgs_per_sec,omitempty"`
	RatioToDirect    float64 `json:"ratio_to_direct,omitempty"`
	// The same traffic as Sieve's envelope (sieve bench --compare-mapping)
	// and the mapped run's share of its rate.
	EnvelopeMsgsPerSec float64 `json:"envelope_msgs_per_sec,omitempty"`
	MappedRatio        float64 `json:"mapped_to_envelope,omitempty"`
	// With --pairs N: each round's ratios (the last round's last) and
	// their medians (the upper middle one for an even N).
	MappedRatios      []float64 `json:"mapped_to_envelope_each,omitempty"`
	AvroRatios        []float64 `json:"avro_to_envelope_each,omitempty"`
	MappedRatioMedian float64   `json:"mapped_to_envelope_median,omitempty"`
	AvroRatioMedian   float64   `json:"avro_to_envelope_median,omitempty"`
	// The same traffic traced at 100% (sieve bench --compare-tracing) and
	// its share of the untraced run's rate.
	UntracedMsgsPerSec float64 `json:"untraced_msgs_per_sec,omitempty"`
	TracedRatio        float64 `json:"traced_to_untraced,omitempty"`
	// The untraced run's CPU per message, and tracing's share of the
	// traced run's: 1 - untraced/traced.
	UntracedCPUMicrosPerMsg float64 `json:"untraced_cpu_us_per_msg,omitempty"`
	TracingCPUShare         float64 `json:"tracing_cpu_share,omitempty"`
	// TracingCosts are 1 - traced/untraced rate for each pair of runs
	// (sieve bench --compare-tracing --pairs N), the last pair's last; the
	// medians are the upper middle one for an even N.
	TracingCosts      []float64 `json:"tracing_costs,omitempty"`
	TracingCostMedian float64   `json:"tracing_cost_median,omitempty"`
	// TracingCPUShares are 1 - untraced/traced CPU per message, each pair.
	TracingCPUShares      []float64 `json:"tracing_cpu_shares,omitempty"`
	TracingCPUShareMedian float64   `json:"tracing_cpu_share_median,omitempty"`
	// The same schema as Avro through a schema registry, and its share.
	AvroMsgsPerSec float64 `json:"avro_msgs_per_sec,omitempty"`
	AvroRatio      float64 `json:"avro_to_envelope,omitempty"`
}

const (
	inputTopic = "bench-in"
	copyTopic  = "bench-copy-out"
)

// Run runs one benchmark.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Messages <= 0 {
		o.Messages = 200_000
	}
	if o.Partitions <= 0 {
		o.Partitions = 6
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Config == nil {
		o.Config = config.Default()
	}
	cfg := *o.Config
	brokers := o.Brokers
	if len(brokers) == 0 {
		broker, err := kafka.StartBroker(0, "")
		if err != nil {
			return nil, err
		}
		defer broker.Close()
		brokers = broker.Addrs()
	}
	cfg.Kafka.Embedded = false
	cfg.Kafka.Brokers = brokers
	// The rewrites topic keeps its configured name: stages built before Run
	// (Options.Stages) already write to it.
	cfg.Kafka.Topics = kafka.Topics{Input: []string{inputTopic}, Verdicts: "bench-verdicts", Rewrites: cfg.Kafka.Topics.Rewrites, DeadLetters: "bench-dead-letters"}
	cfg.Kafka.Group = "bench-sieve"
	cfg.Kafka.Partitions = o.Partitions
	cfg.Kafka.TransactionalID = "bench-sieve-txn"
	if err := service.CreateTopics(ctx, &cfg, brokers); err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if err := kafka.EnsureTopics(ctx, cl, o.Partitions, copyTopic); err != nil {
		return nil, err
	}
	if o.Rate > 0 {
		if o.Duration <= 0 {
			return nil, errors.New("an open-loop run needs a duration")
		}
		return runOpenLoop(ctx, &cfg, brokers, cl, o)
	}
	keys, invalid, err := seed(ctx, cl, o)
	if err != nil {
		return nil, err
	}
	res := &Result{Messages: o.Messages, Invalid: invalid, Delivery: cfg.Delivery}
	if o.Copy {
		rate, err := copyLoop(ctx, brokers, o.Messages, o.Timeout)
		if err != nil {
			return nil, fmt.Errorf("copy loop: %w", err)
		}
		res.CopyMsgsPerSec = rate
	}
	// Every measured run starts from a collected heap: what earlier runs
	// (and their brokers) left behind would otherwise be paid for by
	// whichever run the collector happens to run in.
	runtime.GC()
	if err := runPipeline(ctx, &cfg, brokers, o, res); err != nil {
		return nil, err
	}
	if err := verify(ctx, brokers, &cfg, keys, res); err != nil {
		return nil, err
	}
	if res.CopyMsgsPerSec > 0 {
		res.Ratio = round(res.MsgsPerSec/res.CopyMsgsPerSec, 3)
	}
	return res, nil
}

func seed(ctx context.Context, cl *kgo.Client, o Options) (keys []string, invalid int, err error) {
	mix := o.Mix
	if mix == (traffic.Mix{}) {
		mix = traffic.DefaultMix
	}
	maxText := 64 << 10
	if o.Config != nil {
		maxText = o.Config.Pipeline.MaxTextBytes
	}
	gen := o.generator(mix, maxText)
	keys = make([]string, 0, o.Messages)
	batch := make([]*kgo.Record, 0, 10_000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := cl.ProduceSync(ctx, batch...).FirstErr()
		batch = batch[:0]
		return err
	}
	for i := range o.Messages {
		m := gen.Next()
		if m.Kind.Invalid() {
			invalid++
		} else if len(o.Media) > 0 {
			m.Value = withMedia(m.Value, o.Media[i%len(o.Media)])
		}
		if o.Mapped && !m.Kind.Invalid() {
			if o.AvroID > 0 {
				m.Value = remapAvro(m.Value, o.AvroID)
			} else {
				m.Value = remap(m.Value)
			}
		}
		keys = append(keys, m.Key)
		batch = append(batch, &kgo.Record{Topic: inputTopic, Key: []byte(m.Key), Value: m.Value})
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return nil, 0, fmt.Errorf("seed: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		return nil, 0, fmt.Errorf("seed: %w", err)
	}
	return keys, invalid, nil
}

// copyLoop consumes every seeded record and produces it unchanged: the
// floor of what any consume→produce pipeline on this broker can do.
func copyLoop(ctx context.Context, brokers []string, n int, timeout time.Duration) (float64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumerGroup("bench-copy"),
		kgo.ConsumeTopics(inputTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(), kgo.ProducerLinger(0))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var acked atomic.Int64
	done := make(chan struct{})
	var once sync.Once
	var first time.Time
	taken := 0
	for taken < n {
		fs := cl.PollRecords(ctx, 10_000)
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if first.IsZero() && fs.NumRecords() > 0 {
			first = time.Now()
		}
		fs.EachRecord(func(r *kgo.Record) {
			taken++
			cl.Produce(ctx, &kgo.Record{Topic: copyTopic, Key: r.Key, Value: r.Value}, func(_ *kgo.Record, err error) {
				if err == nil && acked.Add(1) == int64(n) {
					once.Do(func() { close(done) })
				}
			})
		})
	}
	select {
	case <-done:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	elapsed := time.Since(first)
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		return 0, err
	}
	return round(float64(n)/elapsed.Seconds(), 0), nil
}

func runPipeline(ctx context.Context, cfg *config.Config, brokers []string, o Options, res *Result) error {
	n := o.Messages
	// Every eighth item's latency is sampled: enough for p99 over large
	// runs, and the hook itself stays off the measured path.
	const sampleEvery = 8
	lat := make([]float64, 0, n/sampleEvery+1)
	var latMu sync.Mutex
	var count atomic.Int64
	var firstNs atomic.Int64
	firstNs.Store(math.MaxInt64)
	var lastNs atomic.Int64
	done := make(chan struct{})
	onDone := func(it *pipeline.Item) {
		i := count.Add(1)
		if i == 1 || i%sampleEvery == 0 {
			recv := it.Received().UnixNano()
			for {
				f := firstNs.Load()
				if recv >= f || firstNs.CompareAndSwap(f, recv) {
					break
				}
			}
			l := it.Latency()
			latMu.Lock()
			lat = append(lat, l.Seconds()*1000)
			latMu.Unlock()
		}
		if int(i) == n {
			lastNs.Store(time.Now().UnixNano())
			close(done)
		}
	}
	if o.CPUProfile != nil {
		if err := pprof.StartCPUProfile(o.CPUProfile); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cpu0 := processCPU()
	m, err := startMember(ctx, cfg, brokers, o, onDone)
	if err != nil {
		return err
	}
	if err := m.wait(done, o.Timeout, func() string { return fmt.Sprintf("%d of %d messages done", count.Load(), n) }); err != nil {
		return err
	}
	res.CPUMicrosPerMsg = round(float64((processCPU()-cpu0).Microseconds())/float64(n), 2)
	elapsed := time.Duration(lastNs.Load() - firstNs.Load())
	if err := m.close(); err != nil {
		return err
	}
	res.Seconds = round(elapsed.Seconds(), 3)
	res.MsgsPerSec = round(float64(n)/elapsed.Seconds(), 0)
	latMu.Lock()
	defer latMu.Unlock()
	res.setPercentiles(lat)
	return nil
}

// outputReader reads the verdict and dead-letter topics from the start:
// in exactly-once mode committed records only, as a consumer of the
// outputs would.
func outputReader(brokers []string, cfg *config.Config) (*kgo.Client, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(cfg.Kafka.Topics.Verdicts, cfg.Kafka.Topics.DeadLetters),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if cfg.Delivery == config.ExactlyOnce {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	return kgo.NewClient(opts...)
}

// verify reads every output back and counts, per seeded key, how many
// verdicts and dead letters it got.
func verify(ctx context.Context, brokers []string, cfg *config.Config, keys []string, res *Result) error {
	seen := make(map[string]int, len(keys))
	for _, k := range keys {
		seen[k] = 0
	}
	cl, err := outputReader(brokers, cfg)
	if err != nil {
		return err
	}
	defer cl.Close()
	total := 0
	quiet := 0
	for quiet < 3 {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		got := 0
		fs.EachRecord(func(r *kgo.Record) {
			got++
			if r.Topic == cfg.Kafka.Topics.DeadLetters {
				res.DeadLetters++
			} else {
				res.Verdicts++
			}
			seen[string(r.Key)]++
		})
		total += got
		if got == 0 && total >= len(keys) {
			quiet++
		}
		if got == 0 && total < len(keys) {
			quiet++
			if quiet >= 6 {
				break
			}
		}
	}
	for _, c := range seen {
		if c == 0 {
			res.Lost++
		} else {
			res.Duplicates += c - 1
		}
	}
	return nil
}

// member is a pipeline member running against the benchmark's broker.
type member struct {
	stop     context.CancelFunc
	finished chan struct{} // closed when Run returned; err is then set
	err      error
}

// startMember builds a member of cfg on the benchmark's stages and runs it,
// calling onDone for every item that leaves the pipeline.
func startMember(ctx context.Context, cfg *config.Config, brokers []string, o Options, onDone func(*pipeline.Item)) (*member, error) {
	m, err := service.NewMember(cfg, service.MemberOptions{
		Brokers:        brokers,
		Stages:         o.Stages,
		Logger:         o.Logger,
		TracerProvider: o.TracerProvider,
		Tune:           func(po *pipeline.Options) { po.OnDone = onDone },
	})
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	mb := &member{stop: stop, finished: make(chan struct{})}
	go func() {
		mb.err = m.Run(runCtx)
		close(mb.finished)
	}()
	return mb, nil
}

// wait returns once done is closed, or with an error when the member
// stopped first or timeout passed (progress says how far it got).
func (m *member) wait(done <-chan struct{}, timeout time.Duration, progress func() string) error {
	select {
	case <-done:
		return nil
	case <-m.finished:
		if m.err != nil {
			return m.err
		}
		return errors.New("pipeline stopped early")
	case <-time.After(timeout):
		m.stop()
		<-m.finished
		return fmt.Errorf("pipeline: %s after %s", progress(), timeout)
	}
}

// close stops the member and returns what its Run returned.
func (m *member) close() error {
	m.stop()
	<-m.finished
	return m.err
}

// setPercentiles sorts lat (milliseconds) and fills the latency figures.
func (r *Result) setPercentiles(lat []float64) {
	if len(lat) == 0 {
		return
	}
	sort.Float64s(lat)
	r.P50ms = round(lat[len(lat)/2], 2)
	r.P99ms = round(lat[min(len(lat)-1, len(lat)*99/100)], 2)
	r.P999ms = round(lat[min(len(lat)-1, len(lat)*999/1000)], 2)
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// Direct measures a classifier alone, outside the pipeline: the texts of
// the same seeded traffic (valid ones), scored in batches of batch in one
// goroutine. It is the ceiling the pipeline's msgs/s is compared with.
func Direct(ctx context.Context, c interface {
	Classify(context.Context, []string) ([][]float32, error)
}, o Options, batch int) (float64, error) {
	mix := o.Mix
	if mix == (traffic.Mix{}) {
		mix = traffic.DefaultMix
	}
	gen := o.generator(mix, 64<<10)
	texts := make([]string, 0, o.Messages)
	for range o.Messages {
		m := gen.Next()
		if msg, err := contract.DecodeMessage(m.Value, contract.DefaultDecodeOptions); err == nil {
			texts = append(texts, msg.Text)
		}
	}
	start := time.Now()
	for i := 0; i < len(texts); i += batch {
		if _, err := c.Classify(ctx, texts[i:min(i+batch, len(texts))]); err != nil {
			return 0, err
		}
	}
	return round(float64(o.Messages)/time.Since(start).Seconds(), 1), nil
}

// withMedia adds one inline image to a message's JSON; a value that is
// not a JSON object is left as it is.
func withMedia(value, img []byte) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(value, &m); err != nil {
		return value
	}
	media, _ := json.Marshal([]map[string]string{{"data": base64.StdEncoding.EncodeToString(img)}})
	m["media"] = media
	out, err := json.Marshal(m)
	if err != nil {
		return value
	}
	return out
}

// DirectImages measures an image classifier alone: the images the
// traffic's valid messages carry (o.Media, round robin), decoded and
// classified in batches of batch in one goroutine. It is the ceiling the
// pipeline's msgs/s with media is compared with.
func DirectImages(ctx context.Context, c interface {
	ClassifyImages(context.Context, []image.Image) ([][]float32, error)
}, o Options, batch int) (float64, error) {
	mix := o.Mix
	if mix == (traffic.Mix{}) {
		mix = traffic.DefaultMix
	}
	gen := o.generator(mix, 64<<10)
	var idx []int
	for i := range o.Messages {
		if m := gen.Next(); !m.Kind.Invalid() {
			idx = append(idx, i%len(o.Media))
		}
	}
	start := time.Now()
	imgs := make([]image.Image, 0, batch)
	for i := 0; i < len(idx); i += batch {
		imgs = imgs[:0]
		for _, k := range idx[i:min(i+batch, len(idx))] {
			img, _, err := image.Decode(bytes.NewReader(o.Media[k]))
			if err != nil {
				return 0, fmt.Errorf("media %d: %w", k, err)
			}
			imgs = append(imgs, img)
		}
		if _, err := c.ClassifyImages(ctx, imgs); err != nil {
			return 0, err
		}
	}
	return round(float64(o.Messages)/time.Since(start).Seconds(), 1), nil
}

// generator is the benchmark's traffic: real posts when o.Corpus is set,
// else the synthetic mix.
func (o Options) generator(mix traffic.Mix, maxText int) interface{ Next() traffic.Message } {
	if o.Corpus != nil {
		return postsNow{traffic.NewPosts(o.Seed, *o.Corpus, traffic.DefaultPostMix)}
	}
	return traffic.New(o.Seed, mix, maxText)
}

type postsNow struct{ p *traffic.Posts }

func (p postsNow) Next() traffic.Message { return p.p.Next(time.Now()) }

// Costly wraps a stage to burn per of CPU for each item before it runs, as
// a heavier model (a transformer encoder) would; 0 leaves it as it is.
func Costly(per time.Duration) func(pipeline.Stage) pipeline.Stage {
	return func(st pipeline.Stage) pipeline.Stage {
		if per <= 0 {
			return st
		}
		return costly{st, per}
	}
}

type costly struct {
	pipeline.Stage
	per time.Duration
}

func (c costly) Process(ctx context.Context, items []*pipeline.Item) error {
	for range items {
		for end := time.Now().Add(c.per); time.Now().Before(end); {
		}
	}
	return c.Stage.Process(ctx, items)
}

// DiscardSpans is a span exporter that drops what it is given: tracing's
// cost inside Sieve, without a collector's.
type DiscardSpans struct{}

// ExportSpans implements sdktrace.SpanExporter.
func (DiscardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }

// Shutdown implements sdktrace.SpanExporter.
func (DiscardSpans) Shutdown(context.Context) error { return nil }

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
