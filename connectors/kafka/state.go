package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// StateStore reads snapshots back from a compacted, single-partition state
// topic (aggregate.Store): the newest committed value per key. Snapshots are
// written by the pipeline's own producer, inside its transactions, so only
// committed ones are read (read_committed). The topic is read once from the
// start and then from where the last Load stopped.
type StateStore struct {
	cl    *kgo.Client
	adm   *kadm.Client
	topic string

	mu   sync.Mutex
	vals map[string][]byte
	next int64 // past the last record read
	// read is the end offset a previous Load read up to: what lies between
	// next and read are transaction markers and aborted records, which a
	// read_committed fetch never returns, so waiting for them is pointless.
	read int64
	warm bool // the reader has fetched before: its connection and metadata are up
}

// NewStateStore connects a reader of topic.
func NewStateStore(cfg *Config, brokers []string, topic string) (*StateStore, error) {
	opts, err := ClientOptions(cfg, brokers)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka state reader: %w", err)
	}
	return &StateStore{cl: cl, adm: kadm.NewClient(cl), topic: topic, vals: map[string][]byte{}}, nil
}

// Load implements aggregate.Store.
func (s *StateStore) Load(ctx context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ends, err := s.adm.ListCommittedOffsets(ctx, s.topic)
	if err != nil {
		return nil, fmt.Errorf("state topic %s: %w", s.topic, err)
	}
	end, ok := ends.Lookup(s.topic, 0)
	if !ok {
		return nil, fmt.Errorf("state topic %s: no partition 0", s.topic)
	}
	if end.Err != nil {
		return nil, fmt.Errorf("state topic %s: %w", s.topic, end.Err)
	}
	for s.next < end.Offset && s.read < end.Offset {
		// The broker answers at once when there is something to read; a
		// quiet fetch means only markers are left below the end. A cold
		// reader first looks up the partition's leader and connects.
		quiet := 300 * time.Millisecond
		if !s.warm {
			quiet = 3 * time.Second
		}
		pctx, cancel := context.WithTimeout(ctx, quiet)
		fs := s.cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := 0
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				ferr = err
			}
		})
		if ferr != nil {
			return nil, fmt.Errorf("read state topic %s: %w", s.topic, ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			s.warm = true
			if r.Value == nil {
				delete(s.vals, string(r.Key))
			} else {
				s.vals[string(r.Key)] = r.Value
			}
			s.next = r.Offset + 1
		})
		if n == 0 {
			// Nothing but transaction markers or aborted records up to the
			// end: the committed state is all read.
			break
		}
	}
	s.read = end.Offset
	return s.vals[key], nil
}

// Close closes the reader.
func (s *StateStore) Close() { s.cl.Close() }

// EnsureStateTopic creates topic with one partition and log compaction
// where it is missing: only the newest snapshot per key matters.
func EnsureStateTopic(ctx context.Context, cl *kgo.Client, topic string) error {
	compact := "compact"
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, 1, -1, map[string]*string{"cleanup.policy": &compact}, topic)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}
