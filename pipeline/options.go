package pipeline

import (
	"log/slog"
	"time"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/resilience"
	"go.opentelemetry.io/otel/trace"
)

// Options configure an Engine. Zero values take the defaults of
// EnsureDefaults.
type Options struct {
	// Stages run in order over every micro-batch.
	Stages []Stage
	Batch  BatchOptions
	// Workers is how many micro-batches are processed at once.
	Workers int
	// MaxInFlight bounds the records taken but not yet acknowledged; when it
	// is reached the pipeline stops polling (backpressure).
	MaxInFlight int

	VerdictTopic    string
	DeadLetterTopic string
	Decode          contract.DecodeOptions

	// TransactionRetries is how many transactions in a row, each aborted
	// because an output could not be produced, are retried before Run
	// stops with an error naming the topic (default 3).
	TransactionRetries int

	// MaxRetries is how often a batch is retried after a transient error.
	MaxRetries int
	Backoff    resilience.Backoff
	// BreakerThreshold transient failures in a row open a stage's breaker
	// for BreakerCooldown.
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// PauseOnOpenBreaker pauses consumption while a breaker is open, instead
	// of dead-lettering every batch that reaches the broken stage.
	PauseOnOpenBreaker bool

	CommitInterval  time.Duration
	ShutdownTimeout time.Duration
	// RevokeTimeout bounds how long a rebalance waits for revoked
	// partitions' in-flight records.
	RevokeTimeout time.Duration

	// Tracer, when set, traces every record from consume to produce (a span
	// per record, a child span per stage batch) and writes the record's W3C
	// trace context into its outputs' headers.
	Tracer trace.Tracer
	// ClientPublishSpans says the Kafka client opens a publish span for
	// each output and writes the output's traceparent under it (franz-go's
	// kotel), so the engine does not write it first.
	ClientPublishSpans bool

	// OutputMode is what the verdict topic receives for each message:
	// OutputVerdict (the default), OutputEnrich or OutputHeaders. Routed
	// copies of the verdict take the same form.
	OutputMode string
	// EnrichValue, with OutputEnrich, adds the verdict to a record's value
	// in the value's own format (a schema-registry frame kept); default:
	// Enrich, for JSON. An error makes the record a dead letter.
	EnrichValue func(value, verdict []byte) ([]byte, error)

	// Decoder, when set, reads a record into its message in place of the
	// contract's envelope decoder (an input mapping); its errors are
	// *contract.DecodeError.
	Decoder func(r *Record, opts contract.DecodeOptions, m *contract.Message) error

	// DefaultID names a message that has no id (default: the record key,
	// else topic/partition/offset).
	DefaultID func(*Record) string
	// DeadLetter builds the output of a failed item (default: the original
	// record to DeadLetterTopic with the contract's headers).
	DeadLetter func(*Item) Output

	// Folders see every item in its partition's offset order as it goes to
	// the sink (windowed aggregates).
	Folders []Folder

	// TokenEstimate estimates an item's model cost for the batcher.
	TokenEstimate func(*contract.Message) int
	// OnDone, when set, sees every item once its outputs (verdict or dead
	// letter) were acknowledged: the demo's live line and the benchmark's
	// clock. It must be quick and must not keep the item.
	OnDone func(*Item)

	Metrics *Metrics
	Logger  *slog.Logger
}

// EnsureDefaults fills unset options.
func (o *Options) EnsureDefaults() {
	if o.Batch.MaxItems <= 0 {
		o.Batch.MaxItems = 256
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 16 * o.Batch.MaxItems
		if o.MaxInFlight < 4096 {
			o.MaxInFlight = 4096
		}
	}
	if o.VerdictTopic == "" {
		o.VerdictTopic = "verdicts"
	}
	if o.DeadLetterTopic == "" {
		o.DeadLetterTopic = "dead-letters"
	}
	if o.Decode.MaxTextBytes == 0 && o.Decode.MaxRecordBytes == 0 {
		o.Decode = contract.DefaultDecodeOptions
	}
	if o.Backoff.Initial <= 0 {
		o.Backoff.Initial = 100 * time.Millisecond
	}
	if o.Backoff.Max <= 0 {
		o.Backoff.Max = 5 * time.Second
	}
	if o.BreakerThreshold <= 0 {
		o.BreakerThreshold = 5
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = 5 * time.Second
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.RevokeTimeout <= 0 {
		o.RevokeTimeout = 20 * time.Second
	}
	if o.TransactionRetries <= 0 {
		o.TransactionRetries = 3
	}
	if o.DefaultID == nil {
		o.DefaultID = DefaultID
	}
	if o.DeadLetter == nil {
		topic := o.DeadLetterTopic
		o.DeadLetter = func(it *Item) Output { return DeadLetter(topic, it) }
	}
	if o.TokenEstimate == nil {
		o.TokenEstimate = EstimateTokens
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// EstimateTokens is a cheap stand-in for a tokenizer: about four bytes a
// token, plus the two special tokens an encoder adds.
func EstimateTokens(m *contract.Message) int { return len(m.Text)/4 + 2 }
