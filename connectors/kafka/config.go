// Package kafka connects Sieve to Kafka with franz-go: a group consumer
// Source (cooperative-sticky, manual commits), a transactional Source for
// exactly-once delivery, an idempotent producer Sink, topic administration,
// and an embedded broker (franz-go's kfake) for the quickstart and tests.
package kafka

import (
	"errors"
	"fmt"
	"time"
)

// Config is the kafka section of sieve.yaml.
type Config struct {
	// Brokers are seed brokers, host:port. Ignored when Embedded.
	Brokers []string `yaml:"brokers"`
	// Embedded starts an in-process broker (kfake) instead of dialing Brokers.
	Embedded bool `yaml:"embedded"`
	// EmbeddedPort is the embedded broker's TCP port; 0 picks a free one.
	EmbeddedPort int `yaml:"embedded_port"`
	// DataDir, when set, makes the embedded broker keep its data there
	// across restarts.
	DataDir string `yaml:"data_dir"`

	Group    string `yaml:"group"`     // consumer group of the members of one deployment
	ClientID string `yaml:"client_id"` // client id the brokers log and quota by
	Topics   Topics `yaml:"topics"`
	// CreateTopics creates missing topics with Partitions partitions at start.
	CreateTopics bool  `yaml:"create_topics"`
	Partitions   int32 `yaml:"partitions"`
	// StartFrom is where a group without committed offsets starts: earliest
	// or latest.
	StartFrom string `yaml:"start_from"`
	// TransactionalID identifies this member's producer in exactly-once
	// mode; it must be stable across restarts of the same member and unique
	// among members. Defaults to the group name plus the host name.
	TransactionalID string `yaml:"transactional_id"`
	// TransactionTimeout bounds how long one exactly-once transaction waits
	// for its records to be produced (default 60s): a record that cannot be
	// written (a topic that does not exist on a broker that creates none)
	// fails then, and the transaction is aborted and retried.
	TransactionTimeout time.Duration `yaml:"transaction_timeout"`
	// TransactionRetries is how many aborted transactions in a row, each
	// for a record that could not be produced, the member retries (with
	// backoff) before it stops with an error naming the topic (default 3).
	TransactionRetries int `yaml:"transaction_retries"`

	MaxPollRecords   int           `yaml:"max_poll_records"`  // records taken per poll at most
	SessionTimeout   time.Duration `yaml:"session_timeout"`   // a member silent this long leaves the group
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"` // how long members have to finish their records in a rebalance
	// ProduceLinger lets the producer wait this long to fill batches.
	ProduceLinger time.Duration `yaml:"produce_linger"`

	TLS  TLSConfig  `yaml:"tls"`
	SASL SASLConfig `yaml:"sasl"`
}

// Topics names the topics Sieve reads and writes.
type Topics struct {
	Input       []string `yaml:"input"`        // topics read
	Verdicts    string   `yaml:"verdicts"`     // one verdict per message (contract: Verdict)
	Rewrites    string   `yaml:"rewrites"`     // rewritten texts of messages decided rewrite
	Shadow      string   `yaml:"shadow"`       // where shadow classifiers disagree with the live ones (with shadow: true)
	DeadLetters string   `yaml:"dead_letters"` // messages that could not be read or scored, unchanged, with the reason in headers
}

// TLSConfig enables TLS to the brokers.
type TLSConfig struct {
	Enabled            bool   `yaml:"enabled"`              // TLS to the brokers
	CAFile             string `yaml:"ca_file"`              // PEM CA bundle; default the system roots
	CertFile           string `yaml:"cert_file"`            // client certificate (mTLS)
	KeyFile            string `yaml:"key_file"`             // client certificate's key
	ServerName         string `yaml:"server_name"`          // name checked in the certificate; default the broker host
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"` // skip certificate checks (tests only)
}

// SASLConfig authenticates to the brokers.
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty disables SASL.
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"` // SASL user
	Password  string `yaml:"password"` // SASL password
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.Group == "" {
		c.Group = "sieve"
	}
	if c.ClientID == "" {
		c.ClientID = "sieve"
	}
	if len(c.Topics.Input) == 0 {
		c.Topics.Input = []string{"posts"}
	}
	if c.Topics.Verdicts == "" {
		c.Topics.Verdicts = "verdicts"
	}
	if c.Topics.Shadow == "" {
		c.Topics.Shadow = "shadow"
	}
	if c.Topics.Rewrites == "" {
		c.Topics.Rewrites = "rewrites"
	}
	if c.Topics.DeadLetters == "" {
		c.Topics.DeadLetters = "dead-letters"
	}
	if c.Partitions <= 0 {
		c.Partitions = 6
	}
	if c.StartFrom == "" {
		c.StartFrom = "earliest"
	}
	if c.MaxPollRecords <= 0 {
		c.MaxPollRecords = 2000
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 45 * time.Second
	}
	if c.TransactionTimeout <= 0 {
		c.TransactionTimeout = 60 * time.Second
	}
	if c.TransactionRetries <= 0 {
		c.TransactionRetries = 3
	}
	if c.RebalanceTimeout <= 0 {
		c.RebalanceTimeout = 60 * time.Second
	}
	if c.ProduceLinger < 0 {
		c.ProduceLinger = 0
	}
}

// ErrNoBrokers is returned by RequireBrokers: a command that talks to
// Kafka has nowhere to connect.
var ErrNoBrokers = errors.New("kafka.brokers: at least one broker is needed unless kafka.embedded is true")

// RequireBrokers reports whether the config can reach Kafka. Commands that
// need no broker (classify, eval) do not call it.
func (c *Config) RequireBrokers() error {
	if !c.Embedded && len(c.Brokers) == 0 {
		return ErrNoBrokers
	}
	return nil
}

// Validate reports the first bad field, named as in sieve.yaml.
func (c *Config) Validate() error {
	for i, t := range c.Topics.Input {
		if t == "" {
			return fmt.Errorf("kafka.topics.input[%d]: empty topic name", i)
		}
		if t == c.Topics.Verdicts || t == c.Topics.DeadLetters || t == c.Topics.Rewrites {
			return fmt.Errorf("kafka.topics.input[%d]: %q is also an output topic; Sieve would read its own output", i, t)
		}
	}
	switch c.StartFrom {
	case "earliest", "latest":
	default:
		return fmt.Errorf("kafka.start_from: %q is not earliest or latest", c.StartFrom)
	}
	switch c.SASL.Mechanism {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return fmt.Errorf("kafka.sasl.mechanism: %q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASL.Mechanism)
	}
	if c.SASL.Mechanism != "" && c.SASL.Username == "" {
		return errors.New("kafka.sasl.username: required with kafka.sasl.mechanism")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("kafka.tls.cert_file and kafka.tls.key_file go together")
	}
	if c.Partitions > 10000 {
		return fmt.Errorf("kafka.partitions: %d is more than 10000", c.Partitions)
	}
	return nil
}
