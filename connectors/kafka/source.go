package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Metrics are the connector's collectors.
type Metrics struct {
	// Lag is the per-partition consumer lag.
	Lag *prometheus.GaugeVec
}

// NewMetrics creates the collectors and registers them on reg (nil: not
// registered). A registry that already has them (a second member in one
// process) lends its own, so every member reports into the same series.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sieve_consumer_lag",
		Help: "Records between the partition's high watermark and the last record Sieve took.",
	}, []string{"topic", "partition"})}
	if reg != nil {
		if err := reg.Register(m.Lag); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(err)
			}
			m.Lag = are.ExistingCollector.(*prometheus.GaugeVec)
		}
	}
	return m
}

// SourceOptions configure a group Source beyond Config.
type SourceOptions struct {
	// ExactlyOnce makes the source transactional: outputs and offsets
	// commit in one Kafka transaction.
	ExactlyOnce bool
	Logger      *slog.Logger
	Metrics     *Metrics // nil: not registered
	// Extra options, appended last (tests tune timeouts with them).
	Extra []kgo.Opt
}

// Source consumes the input topics in a consumer group and produces through
// the same client, so that in exactly-once mode outputs and offsets share a
// transaction. It implements pipeline.Source, pipeline.Rebalancing and, in
// exactly-once mode, pipeline.Transactor; Sink returns its producing side.
type Source struct {
	cfg  *Config
	cl   *kgo.Client
	sess *kgo.GroupTransactSession // exactly-once only
	log  *slog.Logger
	max  int

	listener atomic.Pointer[pipeline.PartitionListener]
	// forgetter hears of partitions leaving in exactly-once mode, where
	// the aborted transaction settles their records and only state kept
	// per partition must go.
	forgetter atomic.Pointer[pipeline.StateForgetter]
	m         *Metrics
	lagMu     sync.Mutex
	lag       map[pipeline.Partition]prometheus.Gauge
	closed    atomic.Bool
}

// NewSource creates the group consumer. brokers are the addresses to dial
// (the embedded broker's, or cfg.Brokers).
func NewSource(cfg *Config, brokers []string, o SourceOptions) (*Source, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	s := &Source{cfg: cfg, log: o.Logger, max: cfg.MaxPollRecords, m: o.Metrics, lag: make(map[pipeline.Partition]prometheus.Gauge)}
	opts, err := ClientOptions(cfg, brokers)
	if err != nil {
		return nil, err
	}
	reset := kgo.NewOffset().AtStart()
	if cfg.StartFrom == "latest" {
		reset = kgo.NewOffset().AtEnd()
	}
	opts = append(opts,
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics.Input...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.ConsumeResetOffset(reset),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.RebalanceTimeout(cfg.RebalanceTimeout),
		kgo.ProducerLinger(cfg.ProduceLinger),
		kgo.OnPartitionsLost(s.onLost),
	)
	if o.ExactlyOnce {
		tid := cfg.TransactionalID
		if tid == "" {
			host, _ := os.Hostname()
			tid = cfg.Group + "-" + host
		}
		opts = append(opts,
			kgo.TransactionalID(tid),
			// A record that cannot be written fails in time, so that its
			// transaction is aborted instead of waiting forever.
			kgo.RecordDeliveryTimeout(cfg.TransactionTimeout),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.RequireStableFetchOffsets(),
			kgo.OnPartitionsRevoked(s.onRevokedTxn),
		)
		opts = append(opts, o.Extra...)
		sess, err := kgo.NewGroupTransactSession(opts...)
		if err != nil {
			return nil, fmt.Errorf("kafka transactional client: %w", err)
		}
		s.sess, s.cl = sess, sess.Client()
		return s, nil
	}
	opts = append(opts,
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(s.onRevoked),
	)
	opts = append(opts, o.Extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	s.cl = cl
	return s, nil
}

// Client is the underlying franz-go client.
func (s *Source) Client() *kgo.Client { return s.cl }

// Sink is the producing side of this source's client.
func (s *Source) Sink() pipeline.Sink {
	if s.sess != nil {
		return &txnSink{sess: s.sess}
	}
	return NewSink(s.cl)
}

// Bind implements pipeline.Rebalancing.
func (s *Source) Bind(l pipeline.PartitionListener) { s.listener.Store(&l) }

func (s *Source) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if l := s.listener.Load(); l != nil && len(revoked) > 0 {
		(*l).Revoked(ctx, partitions(revoked))
	}
	s.forgetLag(revoked)
}

func (s *Source) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	if l := s.listener.Load(); l != nil && len(lost) > 0 {
		(*l).Lost(partitions(lost))
	}
	if f := s.forgetter.Load(); f != nil && len(lost) > 0 {
		(*f).ForgetPartitions(partitions(lost))
	}
	s.forgetLag(lost)
}

// onRevokedTxn runs in exactly-once mode, inside the session's own revoke
// handling (which aborts the transaction in progress): the partitions'
// folded state goes, so that a partition coming back is restored from what
// was committed.
func (s *Source) onRevokedTxn(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if f := s.forgetter.Load(); f != nil && len(revoked) > 0 {
		(*f).ForgetPartitions(partitions(revoked))
	}
	s.forgetLag(revoked)
}

func partitions(m map[string][]int32) []pipeline.Partition {
	var out []pipeline.Partition
	for t, ps := range m {
		for _, p := range ps {
			out = append(out, pipeline.Partition{Topic: t, Partition: p})
		}
	}
	return out
}

// Poll implements pipeline.Source.
func (s *Source) Poll(ctx context.Context) ([]*pipeline.Record, error) {
	var fetches kgo.Fetches
	if s.sess != nil {
		fetches = s.sess.PollRecords(ctx, s.max)
	} else {
		fetches = s.cl.PollRecords(ctx, s.max)
	}
	if fetches.IsClientClosed() {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var fatal error
	fetches.EachError(func(t string, p int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		// franz-go retries what it can; a topic that does not exist or an
		// authorization failure is something the operator must fix.
		if errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.GroupAuthorizationFailed) {
			fatal = fmt.Errorf("fetch %s/%d: %w", t, p, err)
		}
		s.log.Warn("fetch error", "topic", t, "partition", p, "err", err)
	})
	if fatal != nil {
		return nil, fatal
	}
	out := make([]*pipeline.Record, 0, fetches.NumRecords())
	recs := make([]pipeline.Record, fetches.NumRecords())
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) == 0 {
			return
		}
		for _, r := range fp.Records {
			pr := &recs[len(out)]
			pr.Topic, pr.Partition.Partition, pr.Offset, pr.LeaderEpoch = r.Topic, r.Partition, r.Offset, r.LeaderEpoch
			pr.Key, pr.Value, pr.Timestamp, pr.Context = r.Key, r.Value, r.Timestamp, r.Context
			if len(r.Headers) > 0 {
				pr.Headers = make([]pipeline.Header, len(r.Headers))
				for i, h := range r.Headers {
					pr.Headers[i] = pipeline.Header{Key: h.Key, Value: h.Value}
				}
			}
			out = append(out, pr)
		}
		last := fp.Records[len(fp.Records)-1]
		s.lagGauge(pipeline.Partition{Topic: fp.Topic, Partition: fp.Partition}).Set(float64(fp.HighWatermark - last.Offset - 1))
	})
	return out, nil
}

func (s *Source) lagGauge(p pipeline.Partition) prometheus.Gauge {
	s.lagMu.Lock()
	defer s.lagMu.Unlock()
	g := s.lag[p]
	if g == nil {
		g = s.m.Lag.WithLabelValues(p.Topic, strconv.Itoa(int(p.Partition)))
		s.lag[p] = g
	}
	return g
}

func (s *Source) forgetLag(m map[string][]int32) {
	s.lagMu.Lock()
	defer s.lagMu.Unlock()
	for t, ps := range m {
		for _, p := range ps {
			delete(s.lag, pipeline.Partition{Topic: t, Partition: p})
			s.m.Lag.DeleteLabelValues(t, strconv.Itoa(int(p)))
		}
	}
}

// Release implements pipeline.Source: rebalances may proceed again.
func (s *Source) Release() {
	if s.sess != nil {
		s.sess.AllowRebalance()
		return
	}
	s.cl.AllowRebalance()
}

// Commit implements pipeline.Source with a synchronous offset commit.
func (s *Source) Commit(ctx context.Context, commits []pipeline.Commit) error {
	if s.sess != nil {
		return errors.New("kafka: offsets commit with the transaction in exactly-once mode")
	}
	offsets := make(map[string]map[int32]kgo.EpochOffset)
	for _, c := range commits {
		m := offsets[c.Topic]
		if m == nil {
			m = make(map[int32]kgo.EpochOffset)
			offsets[c.Topic] = m
		}
		m[c.Partition.Partition] = kgo.EpochOffset{Epoch: c.LeaderEpoch, Offset: c.Offset}
	}
	var rerr error
	s.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			rerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && rerr == nil {
					rerr = fmt.Errorf("commit %s/%d: %w", t.Topic, p.Partition, err)
				}
			}
		}
	})
	return rerr
}

// Pause implements pipeline.Source.
func (s *Source) Pause() { s.cl.PauseFetchTopics(s.cfg.Topics.Input...) }

// Resume implements pipeline.Source.
func (s *Source) Resume() { s.cl.ResumeFetchTopics(s.cfg.Topics.Input...) }

// Pipeline returns what the engine should consume: the source itself, or
// in exactly-once mode the source as a pipeline.Transactor.
func (s *Source) Pipeline() pipeline.Source {
	if s.sess != nil {
		return &txnSource{s}
	}
	return s
}

// txnSource is a Source in exactly-once mode.
type txnSource struct{ *Source }

// Begin implements pipeline.Transactor.
func (s *txnSource) Begin() error { return s.sess.Begin() }

// End implements pipeline.Transactor.
func (s *txnSource) End(ctx context.Context, commit bool) (bool, error) {
	return s.sess.End(ctx, kgo.TransactionEndTry(commit))
}

// Bind in exactly-once mode only passes on which partitions left, for
// their folded state: a rebalance aborts the open transaction instead of
// draining, and its records are consumed again.
func (s *txnSource) Bind(l pipeline.PartitionListener) {
	if f, ok := l.(pipeline.StateForgetter); ok {
		s.forgetter.Store(&f)
	}
}

// Close leaves the group and closes the client. The pipeline must have
// stopped; its revoke handler commits whatever is left.
func (s *Source) Close() {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	if s.sess != nil {
		s.sess.CloseAllowingRebalance()
		return
	}
	s.cl.CloseAllowingRebalance()
}

// Transactional reports whether the source runs exactly-once.
func (s *Source) Transactional() bool { return s.sess != nil }

type txnSink struct{ sess *kgo.GroupTransactSession }

func (t *txnSink) Produce(ctx context.Context, out *pipeline.Output) {
	p := newProduced(ctx, out)
	t.sess.Produce(ctx, &p.Record, acked)
}

func (t *txnSink) Flush(ctx context.Context) error { return t.sess.Client().Flush(ctx) }
