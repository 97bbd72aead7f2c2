package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/sieve-stream/sieve/signals"
)

// Signals is the Redis Store of campaign and author signals, shared by
// every replica. Keys: PREFIX+"b:"+band -> cluster id (SET NX, expiring
// with the window); PREFIX+"c:"+id+":n" -> message count (INCR);
// PREFIX+"c:"+id+":a" -> authors (HyperLogLog); PREFIX+"a:"+author+":first"
// and ":m:"+minute for velocity.
type Signals struct{ c *Client }

// NewSignals returns the Store over c.
func NewSignals(c *Client) *Signals { return &Signals{c: c} }

// Join implements signals.Store in two round trips per batch.
func (s *Signals) Join(ctx context.Context, obs []signals.Observation, window time.Duration) ([]signals.Cluster, error) {
	if len(obs) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*s.c.Timeout)
	defer cancel()
	p := s.c.Prefix
	gets := make([][]*goredis.StringCmd, len(obs))
	if _, err := s.c.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		for i, o := range obs {
			gets[i] = make([]*goredis.StringCmd, len(o.Bands))
			for j, b := range o.Bands {
				gets[i][j] = pl.Get(ctx, p+"b:"+strconv.FormatUint(b, 36))
			}
		}
		return nil
	}); err != nil && err != goredis.Nil {
		return nil, fmt.Errorf("redis signals: %w", err)
	}
	// Buckets as they will be after this batch: what Redis had, then what
	// earlier messages of the batch took. Members add their buckets too, so
	// a drifting campaign stays one cluster; strict banding keeps unrelated
	// texts from chaining.
	owner := map[uint64]string{}
	for i, o := range obs {
		for j, b := range o.Bands {
			if v, err := gets[i][j].Result(); err == nil {
				owner[b] = v
			}
		}
	}
	ids := make([]string, len(obs))
	claim := make([][]uint64, len(obs)) // buckets each message takes or refreshes
	for i, o := range obs {
		for _, b := range o.Bands {
			if v, ok := owner[b]; ok {
				ids[i] = v
				break
			}
		}
		if ids[i] == "" {
			ids[i] = "c-" + strconv.FormatUint(o.Bands[0], 36)
		}
		for _, b := range o.Bands {
			if v, ok := owner[b]; !ok || v == ids[i] {
				owner[b] = ids[i]
				claim[i] = append(claim[i], b)
			}
		}
	}
	sizes := make([]*goredis.IntCmd, len(obs))
	counts := make([]*goredis.IntCmd, len(obs))
	if _, err := s.c.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		for i, o := range obs {
			for _, b := range claim[i] {
				// SET, not SETNX: the bucket is free or already this
				// cluster's; either way it lives for another window.
				pl.Set(ctx, p+"b:"+strconv.FormatUint(b, 36), ids[i], window)
			}
			n, a := p+"c:"+ids[i]+":n", p+"c:"+ids[i]+":a"
			sizes[i] = pl.Incr(ctx, n)
			pl.Expire(ctx, n, window)
			pl.PFAdd(ctx, a, o.Author)
			pl.Expire(ctx, a, window)
			counts[i] = pl.PFCount(ctx, a)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("redis signals: %w", err)
	}
	out := make([]signals.Cluster, len(obs))
	for i := range obs {
		out[i] = signals.Cluster{ID: ids[i], Size: sizes[i].Val(), Authors: counts[i].Val()}
	}
	return out, nil
}

// Authors implements signals.Store in one round trip.
func (s *Signals) Authors(ctx context.Context, authors []string, now time.Time) ([]signals.AuthorStats, error) {
	ctx, cancel := context.WithTimeout(ctx, s.c.Timeout)
	defer cancel()
	minute := strconv.FormatInt(now.Unix()/60, 10)
	rates := make([]*goredis.IntCmd, len(authors))
	firsts := make([]*goredis.StatusCmd, len(authors))
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	if _, err := s.c.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		for i, a := range authors {
			k := s.c.Prefix + "a:" + a
			rates[i] = pl.Incr(ctx, k+":m:"+minute)
			pl.Expire(ctx, k+":m:"+minute, 2*time.Minute)
			// SET NX GET returns the earlier first sight, or nil when this
			// is it.
			firsts[i] = pl.SetArgs(ctx, k+":first", ts, goredis.SetArgs{Mode: "NX", Get: true, TTL: 30 * 24 * time.Hour})
		}
		return nil
	}); err != nil && err != goredis.Nil {
		return nil, fmt.Errorf("redis authors: %w", err)
	}
	out := make([]signals.AuthorStats, len(authors))
	for i := range authors {
		first := now
		if v, err := firsts[i].Result(); err == nil {
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
				first = time.UnixMilli(ms)
			}
		}
		out[i] = signals.AuthorStats{Rate: rates[i].Val(), FirstSeen: first}
	}
	return out, nil
}
