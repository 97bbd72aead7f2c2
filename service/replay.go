package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sieve-stream/sieve/config"
)

// ReplayFrom readies a backfill: it commits, for group, the first offset at
// or after from on every partition of the config's input topics, so that a
// member of that group starts there, and returns the end offsets as they
// are now, where the backfill is done (CaughtUp). A group that has
// committed anything already is refused: a replay never moves a running
// group.
func ReplayFrom(ctx context.Context, cfg *config.Config, brokers []string, group string, from time.Time) (kadm.Offsets, error) {
	cl, err := adminClient(cfg, brokers)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	have, err := adm.FetchOffsets(ctx, group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("replay: the group's offsets: %w", err)
	}
	committed := false
	have.Each(func(o kadm.OffsetResponse) { committed = committed || (o.Err == nil && o.At >= 0) })
	if committed {
		return nil, fmt.Errorf("replay: group %q has committed offsets already; name a new group", group)
	}
	starts, err := adm.ListOffsetsAfterMilli(ctx, from.UnixMilli(), cfg.Kafka.Topics.Input...)
	if err != nil {
		return nil, fmt.Errorf("replay: offsets at %s: %w", from.Format(time.RFC3339), err)
	}
	if err := starts.Error(); err != nil {
		return nil, fmt.Errorf("replay: offsets at %s: %w", from.Format(time.RFC3339), err)
	}
	if err := adm.CommitAllOffsets(ctx, group, starts.Offsets()); err != nil {
		return nil, fmt.Errorf("replay: committing the start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, cfg.Kafka.Topics.Input...)
	if err != nil {
		return nil, err
	}
	return ends.Offsets(), nil
}

// CaughtUp reports whether group has committed every partition up to ends.
func CaughtUp(ctx context.Context, cfg *config.Config, brokers []string, group string, ends kadm.Offsets) (bool, error) {
	cl, err := adminClient(cfg, brokers)
	if err != nil {
		return false, err
	}
	defer cl.Close()
	have, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	done := true
	ends.Each(func(e kadm.Offset) {
		o, ok := have.Lookup(e.Topic, e.Partition)
		if e.At > 0 && (!ok || o.Err != nil || o.At < e.At) {
			done = false
		}
	})
	return done, nil
}
