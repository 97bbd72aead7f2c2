// Package signals finds what one message alone does not show: spam
// campaigns (the same or nearly the same text from many accounts within
// minutes) by MinHash with LSH bands, and per-author velocity and first
// sight. State lives in a Store: in-process by default, Redis when several
// replicas must see the same campaigns.
package signals

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/resilience"
	"github.com/sieve-stream/sieve/internal/textnorm"
	"github.com/sieve-stream/sieve/pipeline"
)

// Signal names, as policy rules refer to them (policy.Rule.Signal).
const (
	CampaignSize    = "campaign_size"
	CampaignAuthors = "campaign_authors"
	AuthorRate      = "author_rate"  // the author's messages in the current minute
	AuthorAge       = "author_age_s" // seconds since the author was first seen
	// NewAuthorRate is AuthorRate for an author first seen less than an
	// hour ago, else 0: a burst from a new account, the fake-review
	// pattern, in one number a policy rule can test.
	NewAuthorRate = "new_author_rate"
)

// newAuthorAge is how recent "new" is for NewAuthorRate.
const newAuthorAge = time.Hour

// Observation is one message's campaign evidence.
type Observation struct {
	Bands  []uint64
	Author string
}

// Cluster is what the store knows of the cluster a message joined.
type Cluster struct {
	ID      string
	Size    int64
	Authors int64
}

// AuthorStats is what the store knows of an author.
type AuthorStats struct {
	Rate      int64
	FirstSeen time.Time
}

// Store keeps band buckets, clusters and authors for a window.
//
// Join assigns each observation, in order, to the cluster of the first of
// its band buckets already taken (by an earlier message, or an earlier one
// in the same call), else to a new cluster, then counts it and its author
// and returns the clusters. Authors counts each author's message at now
// and returns their stats. Both must return within a short timeout.
type Store interface {
	Join(ctx context.Context, obs []Observation, window time.Duration) ([]Cluster, error)
	Authors(ctx context.Context, authors []string, now time.Time) ([]AuthorStats, error)
}

// Options configure the signals stage.
type Options struct {
	Window time.Duration // how long a campaign stays visible; default 10m
	// MinChars: shorter normalised texts ("ok", "thanks!") are too common
	// to call a campaign.
	MinChars int
	Bands    int // default 20
	Rows     int // default 5; Bands × Rows is at most 256
	Store    Store
	// Fallback serves while Store fails (the in-process store).
	Fallback Store
	// Breaker, when set, is Store's breaker shared with its other users
	// (redis.Client.Breaker); nil: the stage keeps one of its own.
	Breaker  *resilience.Breaker
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// Stage adds campaign findings and author signals to items.
type Stage struct {
	o     Options
	br    *resilience.Breaker
	sizes prometheus.Histogram
}

// New returns the stage. A nil Store means in-process state.
func New(o Options) *Stage {
	if o.Window <= 0 {
		o.Window = 10 * time.Minute
	}
	if o.MinChars <= 0 {
		o.MinChars = 20
	}
	if o.Bands <= 0 {
		o.Bands = 20
	}
	if o.Rows <= 0 {
		o.Rows = 5
	}
	if o.Bands*o.Rows > maxSignature {
		o.Bands = min(o.Bands, maxSignature)
		o.Rows = maxSignature / o.Bands
	}
	if o.Fallback == nil {
		o.Fallback = NewMemory()
	}
	if o.Store == nil {
		o.Store = o.Fallback
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Stage{o: o, sizes: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sieve_campaign_cluster_size",
		Help: "Size of the near-duplicate cluster each message joined.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)})}
	if o.Registry != nil {
		o.Registry.MustRegister(s.sizes)
	}
	s.br = o.Breaker
	if s.br == nil {
		s.br = &resilience.Breaker{Threshold: 3, Cooldown: 2 * time.Second, OnChange: func(_, to resilience.BreakerState) {
			s.o.Logger.Warn("campaign signals store changed state", "state", to.String())
		}}
	}
	return s
}

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return "signals" }

// InOrder implements pipeline.Ordered: a partition's messages join clusters
// in offset order, so a campaign is one cluster however concurrent batches
// interleave (a drifting campaign whose later copies ran first would
// otherwise start a second cluster).
func (s *Stage) InOrder() bool { return true }

// Process implements pipeline.Stage.
func (s *Stage) Process(ctx context.Context, items []*pipeline.Item) error {
	store := s.o.Store
	if store != s.o.Fallback && !s.br.Allow() {
		store = s.o.Fallback
	}
	var obs []Observation
	var who []*pipeline.Item
	var authors []string
	var byAuthor []*pipeline.Item
	var sig [maxSignature]uint64
	// One array holds every observation's bands: one allocation a batch.
	bands := make([]uint64, 0, len(items)*s.o.Bands)
	for _, it := range items {
		if it.Msg == nil {
			continue
		}
		if it.Normalized == "" {
			it.Normalized = textnorm.Normalize(it.Text())
		}
		if len(it.Normalized) >= s.o.MinChars {
			signature(it.Normalized, sig[:s.o.Bands*s.o.Rows])
			from := len(bands)
			bands = bandKeys(bands, sig[:], s.o.Bands, s.o.Rows)
			obs = append(obs, Observation{Bands: bands[from:len(bands):len(bands)], Author: it.Msg.Author})
			who = append(who, it)
		}
		if it.Msg.Author != "" {
			authors = append(authors, it.Msg.Author)
			byAuthor = append(byAuthor, it)
		}
	}
	clusters, err := store.Join(ctx, obs, s.o.Window)
	if err == nil && len(authors) > 0 {
		var stats []AuthorStats
		if stats, err = store.Authors(ctx, authors, time.Now()); err == nil {
			now := time.Now()
			for i, it := range byAuthor {
				age := now.Sub(stats[i].FirstSeen)
				setSignal(it, AuthorRate, float64(stats[i].Rate))
				setSignal(it, AuthorAge, age.Seconds())
				newRate := 0.0
				if age < newAuthorAge {
					newRate = float64(stats[i].Rate)
				}
				setSignal(it, NewAuthorRate, newRate)
			}
		}
	}
	if store != s.o.Fallback {
		s.br.Done(err == nil)
		if err != nil {
			// Redis failed mid-batch: this batch's signals come from the
			// in-process store instead, never from nowhere.
			return s.processWith(ctx, s.o.Fallback, items)
		}
	}
	if err != nil {
		return nil // signals are advisory; a failing fallback adds none
	}
	for i, it := range who {
		c := clusters[i]
		s.sizes.Observe(float64(c.Size))
		setSignal(it, CampaignSize, float64(c.Size))
		setSignal(it, CampaignAuthors, float64(c.Authors))
		if c.Size < 2 {
			continue // one message is not a campaign; its signals say so
		}
		it.Findings = append(it.Findings, contract.Finding{Detector: "campaign", Signal: "near_duplicate_cluster",
			Detail: fmt.Sprintf("cluster %s: %d messages from %d authors in the last %s", c.ID, c.Size, c.Authors, s.o.Window)})
	}
	return nil
}

func (s *Stage) processWith(ctx context.Context, st Store, items []*pipeline.Item) error {
	s2 := &Stage{o: s.o, br: s.br, sizes: s.sizes}
	s2.o.Store = st
	return s2.Process(ctx, items)
}

func setSignal(it *pipeline.Item, name string, v float64) {
	if it.Signals == nil {
		it.Signals = make(map[string]float64, 4)
	}
	it.Signals[name] = v
}

func clusterID(band uint64) string { return "c-" + strconv.FormatUint(band, 36) }
