package aggregate

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Record is one closed window of one tenant and input partition, as written
// to the aggregates topic (contract: "Aggregate"). A window's totals over
// the input topic are the sums of its records over partitions.
type Record struct {
	V      int    `json:"v"`
	Window Window `json:"window"`
	Tenant string `json:"tenant"`
	Source Source `json:"source"`
	// Messages counts the verdicts in the window (dead letters are not).
	Messages  int64            `json:"messages"`
	Decisions map[string]int64 `json:"decisions"`
	// Categories: categories model -> category -> messages.
	Categories map[string]map[string]int64 `json:"categories,omitempty"`
	// Cross: the configured models' categories joined by "/" -> messages.
	Cross map[string]int64 `json:"cross,omitempty"`
	// Flags: label -> messages flagged with it.
	Flags map[string]int64 `json:"flags,omitempty"`
	// MeanScores: label -> mean score over the messages that scored it.
	MeanScores map[string]float64 `json:"mean_scores,omitempty"`
}

// Window is a tumbling window [Start, End).
type Window struct {
	Size  string    `json:"size"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Source is the input partition a record counts.
type Source struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// metrics: counters that grow when a window closes, by what it held, so
// that increase(...[1h]) over them reads as "last hour" on a dashboard and
// a restart never counts a window twice.
type metrics struct {
	messages        *prometheus.CounterVec
	categories      *prometheus.CounterVec
	cross           *prometheus.CounterVec
	flags           *prometheus.CounterVec
	decisions       *prometheus.CounterVec
	scoreSum        *prometheus.CounterVec
	scored          *prometheus.CounterVec
	late            *prometheus.CounterVec
	windows         *prometheus.CounterVec
	watermark       *prometheus.GaugeVec
	restoreFailures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	cv := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &metrics{
		messages:   cv("sieve_window_messages_total", "Messages in closed windows.", "window", "tenant"),
		categories: cv("sieve_window_categories_total", "Messages in closed windows by a categories model's category.", "window", "tenant", "model", "category"),
		cross:      cv("sieve_window_cross_total", "Messages in closed windows by the crossing of aggregates.cross categories.", "window", "tenant", "cross"),
		flags:      cv("sieve_window_flags_total", "Messages in closed windows flagged with a label.", "window", "tenant", "label"),
		decisions:  cv("sieve_window_decisions_total", "Messages in closed windows by decision.", "window", "tenant", "decision"),
		scoreSum:   cv("sieve_window_score_sum", "Sum of a label's scores in closed windows (divide by sieve_window_scored_total for the mean).", "window", "tenant", "label"),
		scored:     cv("sieve_window_scored_total", "Messages in closed windows that scored a label.", "window", "tenant", "label"),
		late:       cv("sieve_window_late_total", "Messages later than aggregates.lateness behind their partition's event time, left out of windows.", "window"),
		windows:    cv("sieve_windows_closed_total", "Windows closed and written to the aggregates topic.", "window"),
		watermark: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sieve_window_watermark_seconds",
			Help: "Newest event time seen on an input partition (unix seconds): windows close behind it."}, []string{"topic", "partition"}),
		restoreFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "sieve_window_restore_failures_total",
			Help: "Partitions whose aggregates state could not be read back and started empty."}),
	}
	if reg != nil {
		reg.MustRegister(m.messages, m.categories, m.cross, m.flags, m.decisions, m.scoreSum, m.scored, m.late, m.windows, m.watermark, m.restoreFailures)
	}
	return m
}

func (m *metrics) observe(r Record, c *counts) {
	w, t := r.Window.Size, r.Tenant
	m.windows.WithLabelValues(w).Inc()
	m.messages.WithLabelValues(w, t).Add(float64(r.Messages))
	for model, cats := range r.Categories {
		for cat, n := range cats {
			m.categories.WithLabelValues(w, t, model, cat).Add(float64(n))
		}
	}
	for x, n := range r.Cross {
		m.cross.WithLabelValues(w, t, x).Add(float64(n))
	}
	for l, n := range r.Flags {
		m.flags.WithLabelValues(w, t, l).Add(float64(n))
	}
	for d, n := range r.Decisions {
		m.decisions.WithLabelValues(w, t, d).Add(float64(n))
	}
	for l, s := range c.ScoreSum {
		m.scoreSum.WithLabelValues(w, t, l).Add(s)
		m.scored.WithLabelValues(w, t, l).Add(float64(c.Scored[l]))
	}
}
