package review

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaWriter writes decisions to a topic and waits for the broker's
// acknowledgement (the client's producer is idempotent).
type KafkaWriter struct {
	Client *kgo.Client
	Topic  string
}

// Write implements Writer.
func (k KafkaWriter) Write(ctx context.Context, key, value []byte) error {
	return k.Client.ProduceSync(ctx, &kgo.Record{Topic: k.Topic, Key: key, Value: value}).FirstErr()
}

// Feed fills the queue: first every decision already on the decisions
// topic (so that nothing decided is shown again), then the review topic
// from its start and both topics as they grow, until ctx is done. opts are
// the cluster's client options (kafka.ClientOptions).
func Feed(ctx context.Context, opts []kgo.Opt, cfg Config, s *Server, thresholds map[string]float64, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := ReadTopic(ctx, opts, cfg.DecisionsTopic, func(r *kgo.Record) { seenDecision(s, r, log) }); err != nil {
		return fmt.Errorf("review: reading %s: %w", cfg.DecisionsTopic, err)
	}
	return kafka.Tail(ctx, opts, func(fs kgo.Fetches) {
		fs.EachError(func(t string, p int32, err error) {
			log.Warn("review: fetch failed", "topic", t, "partition", p, "err", err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			if r.Topic == cfg.DecisionsTopic {
				seenDecision(s, r, log)
				return
			}
			it, err := ParseItem(r.Value, thresholds)
			if err != nil {
				log.Warn("review: record skipped", "offset", r.Offset, "err", err)
				return
			}
			it.Received = r.Timestamp
			s.o.Queue.Add(it)
		})
	}, cfg.Topic, cfg.DecisionsTopic)
}

func seenDecision(s *Server, r *kgo.Record, log *slog.Logger) {
	d, err := ParseDecision(r.Value)
	if err != nil || d.ID == "" {
		log.Warn("review: decision record skipped", "offset", r.Offset, "err", err)
		return
	}
	s.o.Queue.MarkDecided(context.Background(), d.ID)
	s.Seen(d)
}

// ReadTopic reads topic from its start to the end offsets it has now.
func ReadTopic(ctx context.Context, opts []kgo.Opt, topic string, each func(*kgo.Record)) error {
	cl, err := kgo.NewClient(append(opts, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return err
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		// A partition whose records retention deleted has nothing to read.
		if s, ok := starts.Lookup(topic, o.Partition); o.Err == nil && ok && s.Offset < o.Offset {
			left[o.Partition] = o.Offset
		}
	})
	for idle := 0; len(left) > 0; {
		// The last offsets may be transaction markers or compacted away and
		// never arrive as records: a few empty polls in a row end the read.
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fs.Err0(); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if fs.NumRecords() == 0 {
			if idle++; idle == 5 {
				return nil
			}
			continue
		}
		idle = 0
		fs.EachRecord(func(r *kgo.Record) {
			each(r)
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
	return nil
}
