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
	next int64 // past the last record (transaction markers included) read
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
		// Transaction markers come back as records, so every offset below
		// the committed end is seen and Load knows when it has read all:
		// no guessing from a quiet fetch, which a slow broker would fool.
		kgo.KeepControlRecords(),
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
	for s.next < end.Offset {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		fs := s.cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				ferr = err
			}
		})
		if ferr != nil {
			return nil, fmt.Errorf("read state topic %s: %w", s.topic, ferr)
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			s.next = r.Offset + 1
			if r.Attrs.IsControl() {
				return
			}
			if r.Value == nil {
				delete(s.vals, string(r.Key))
			} else {
				s.vals[string(r.Key)] = r.Value
			}
		})
		if n == 0 {
			return nil, fmt.Errorf("read state topic %s: nothing between offset %d and the committed end %d in 10s", s.topic, s.next, end.Offset)
		}
	}
	return s.vals[key], nil
}

// Settle implements aggregate.Settler: it waits until the state topic's
// last stable offset reaches its end as it was at the call, that is until
// every transaction then open has committed or aborted.
func (s *StateStore) Settle(ctx context.Context) error {
	ends, err := s.adm.ListEndOffsets(ctx, s.topic)
	if err != nil {
		return fmt.Errorf("state topic %s: %w", s.topic, err)
	}
	hw, ok := ends.Lookup(s.topic, 0)
	if !ok || hw.Err != nil {
		return fmt.Errorf("state topic %s: no end offset for partition 0", s.topic)
	}
	for {
		stable, err := s.adm.ListCommittedOffsets(ctx, s.topic)
		if err != nil {
			return fmt.Errorf("state topic %s: %w", s.topic, err)
		}
		if lso, ok := stable.Lookup(s.topic, 0); ok && lso.Err == nil && lso.Offset >= hw.Offset {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("state topic %s: transactions still open below offset %d: %w", s.topic, hw.Offset, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
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
