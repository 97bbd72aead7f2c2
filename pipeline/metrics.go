package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pipeline's Prometheus collectors. One Metrics serves one
// registry; NewMetrics registers everything on reg.
type Metrics struct {
	RecordsIn      *prometheus.CounterVec
	RecordsOut     *prometheus.CounterVec
	DeadLetters    *prometheus.CounterVec
	StageDuration  *prometheus.HistogramVec
	StageRetries   *prometheus.CounterVec
	StageFailures  *prometheus.CounterVec
	BatchSize      prometheus.Histogram
	InFlight       prometheus.Gauge
	CommitDuration prometheus.Histogram
	CommitErrors   prometheus.Counter
	EndToEnd       prometheus.Histogram
	Processing     prometheus.Histogram
	BreakerState   *prometheus.GaugeVec
	Decisions      *prometheus.CounterVec
	Flags          *prometheus.CounterVec
	LabelScore     *prometheus.HistogramVec
	Paused         prometheus.Gauge
	Transactions   *prometheus.CounterVec
	// CommittedOffset lets an alert see a partition that stopped moving
	// while it has lag.
	CommittedOffset *prometheus.GaugeVec
}

// latencyBuckets span 100µs to ~30s.
var latencyBuckets = prometheus.ExponentialBuckets(0.0001, 2.5, 14)

// NewMetrics creates the pipeline's collectors and registers them on reg
// (nil: not registered, for tests and benchmarks).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		RecordsIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_records_in_total",
			Help: "Records taken from the source, by topic."}, []string{"topic"}),
		RecordsOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_records_out_total",
			Help: "Records acknowledged by the sink, by topic."}, []string{"topic"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_dead_letters_total",
			Help: "Records sent to the dead-letter topic, by reason."}, []string{"reason"}),
		StageDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sieve_stage_duration_seconds",
			Help: "Time one stage took over one micro-batch.", Buckets: latencyBuckets}, []string{"stage"}),
		StageRetries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_stage_retries_total",
			Help: "Batch retries after a transient stage error."}, []string{"stage"}),
		StageFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_stage_failures_total",
			Help: "Batches a stage failed for good."}, []string{"stage"}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sieve_batch_size",
			Help: "Items per micro-batch.", Buckets: prometheus.ExponentialBuckets(1, 2, 12)}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sieve_in_flight",
			Help: "Records taken but not yet acknowledged."}),
		CommitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sieve_commit_duration_seconds",
			Help: "Time an offset commit took.", Buckets: latencyBuckets}),
		CommitErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "sieve_commit_errors_total",
			Help: "Offset commits that failed."}),
		EndToEnd: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sieve_end_to_end_seconds",
			Help: "From the record's timestamp to its verdict's acknowledgement.", Buckets: latencyBuckets}),
		Processing: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sieve_processing_seconds",
			Help: "From taking the record to its verdict's acknowledgement.", Buckets: latencyBuckets}),
		BreakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sieve_breaker_state",
			Help: "Circuit breaker state per stage: 0 closed, 1 open, 2 half-open."}, []string{"stage"}),
		Decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_decisions_total",
			Help: "Verdicts by decision."}, []string{"decision"}),
		Flags: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_flags_total",
			Help: "Verdicts flagged, by label."}, []string{"label"}),
		LabelScore: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sieve_label_score",
			Help: "Score distribution per label, to see drift.", Buckets: prometheus.LinearBuckets(0.1, 0.1, 10)}, []string{"label"}),
		Paused: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sieve_consumption_paused",
			Help: "1 while consumption is paused because a breaker is open."}),
		Transactions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_transactions_total",
			Help: "Exactly-once transactions by outcome."}, []string{"outcome"}),
		CommittedOffset: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sieve_committed_offset",
			Help: "The next offset to consume that Sieve last committed, per input partition."}, []string{"topic", "partition"}),
	}
	if reg != nil {
		reg.MustRegister(m.RecordsIn, m.RecordsOut, m.DeadLetters, m.StageDuration, m.StageRetries,
			m.StageFailures, m.BatchSize, m.InFlight, m.CommitDuration, m.CommitErrors, m.EndToEnd,
			m.Processing, m.BreakerState, m.Decisions, m.Flags, m.LabelScore, m.Paused, m.Transactions, m.CommittedOffset)
	}
	return m
}
