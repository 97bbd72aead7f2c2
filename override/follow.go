package override

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// record is what an override needs of a decision record (contract:
// "Decision record").
type record struct {
	TextKey string `json:"text_key"`
	Override
}

// Follow reads the decisions topic from its start and keeps every
// moderator decision in store, until ctx is done. opts are the cluster's
// client options (kafka.ClientOptions). A later decision on the same text
// replaces an earlier one.
func Follow(ctx context.Context, opts []kgo.Opt, topic string, store Store, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return kafka.Tail(ctx, opts, func(fs kgo.Fetches) {
		var keys []string
		var vals [][]byte
		fs.EachRecord(func(r *kgo.Record) {
			var rec record
			if err := json.Unmarshal(r.Value, &rec); err != nil || rec.TextKey == "" || !rec.Decision.Valid() {
				return
			}
			v, _ := json.Marshal(rec.Override)
			keys, vals = append(keys, storeKey(rec.TextKey)), append(vals, v)
		})
		if len(keys) == 0 {
			return
		}
		if err := store.SetMulti(ctx, keys, vals, 0); err != nil {
			// Redis is away: the next start writes them again; the pipeline
			// goes on without these meanwhile.
			log.Warn("moderator decisions not stored as overrides", "n", len(keys), "err", err)
		}
	}, topic)
}
