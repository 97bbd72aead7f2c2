// Package shadow runs candidate classifiers beside the live ones on real
// traffic: they score every message and never touch a verdict. Where a
// shadow model's flag on a label differs from the live decision's, a
// record says so, and metrics count agreement and flips per label, so that
// a model is judged on production traffic before `sieve promote`.
package shadow

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

// Flip is one label a shadow model flags differently: "on" when only the
// shadow flags it, "off" when only the live models do.
type Flip struct {
	Label     string  `json:"label"`
	Direction string  `json:"direction"`
	Live      float64 `json:"live_score"`
	Shadow    float64 `json:"shadow_score"`
}

// Record is what goes to the shadow topic for a message with flips
// (contract: "Shadow record").
type Record struct {
	V      int               `json:"v"`
	ID     string            `json:"id"`
	Models []string          `json:"models"` // the shadow models' ids
	Live   contract.Decision `json:"live_decision"`
	Flips  []Flip            `json:"flips"`
}

// Metrics are the stage's collectors.
type Metrics struct {
	Agreement *prometheus.CounterVec
	Flips     *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them on reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Agreement: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_shadow_agreement_total",
			Help: "Messages whose flag on a label the shadow models agree (agree=true) or disagree with the live decision on."}, []string{"label", "agree"}),
		Flips: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_shadow_flips_total",
			Help: "Labels a shadow model flags differently: on (only the shadow flags) or off (only the live models)."}, []string{"label", "direction"}),
	}
	if reg != nil {
		reg.MustRegister(m.Agreement, m.Flips)
	}
	return m
}

// Stage runs the shadow classifiers. It goes after the policy, so that
// the live flags it compares with are final, and changes nothing of the
// verdict: it only adds the shadow record as an extra output.
type Stage struct {
	cls     *classifiers.Stage
	topic   string
	m       *Metrics
	ids     []string
	thresh  map[string]float64
	labels  []string
	agree   map[string][2]prometheus.Counter
	flipped map[string][2]prometheus.Counter
}

// New returns the stage over the shadow classifiers; records go to topic.
func New(cs []classifiers.Classifier, topic string, m *Metrics) *Stage {
	if m == nil {
		m = NewMetrics(nil)
	}
	s := &Stage{cls: classifiers.NewStage(cs...), topic: topic, m: m, agree: map[string][2]prometheus.Counter{}, flipped: map[string][2]prometheus.Counter{}}
	s.thresh = s.cls.Thresholds()
	for _, d := range s.cls.Descriptions() {
		s.ids = append(s.ids, d.ID())
		for _, l := range d.Labels {
			if !slices.Contains(s.labels, l) {
				s.labels = append(s.labels, l)
			}
		}
	}
	for _, l := range s.labels {
		s.agree[l] = [2]prometheus.Counter{m.Agreement.WithLabelValues(l, "false"), m.Agreement.WithLabelValues(l, "true")}
		s.flipped[l] = [2]prometheus.Counter{m.Flips.WithLabelValues(l, "off"), m.Flips.WithLabelValues(l, "on")}
	}
	return s
}

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return "shadow" }

// Close closes the shadow classifiers.
func (s *Stage) Close() error { return s.cls.Close() }

// Process implements pipeline.Stage. A shadow model that fails costs its
// comparison, never the batch.
func (s *Stage) Process(ctx context.Context, items []*pipeline.Item) error {
	scratch := make([]*pipeline.Item, 0, len(items))
	live := make([]*pipeline.Item, 0, len(items))
	for _, it := range items {
		if it.Err != nil || it.Msg == nil {
			continue
		}
		scratch = append(scratch, &pipeline.Item{Msg: it.Msg, ID: it.ID, Normalized: it.Normalized})
		live = append(live, it)
	}
	if len(scratch) == 0 {
		return nil
	}
	if err := s.cls.Process(ctx, scratch); err != nil {
		return nil
	}
	for i, sh := range scratch {
		if sh.Err != nil {
			continue
		}
		it := live[i]
		var flips []Flip
		for _, l := range s.labels {
			liveScore, scored := it.Score(l)
			if !scored {
				continue // only the labels both sides know are compared
			}
			shScore, _ := sh.Score(l)
			liveFlag, shFlag := slices.Contains(it.Flags, l), shScore >= s.thresh[l]
			agree := liveFlag == shFlag
			s.agree[l][b2i(agree)].Inc()
			if agree {
				continue
			}
			dir := "off"
			if shFlag {
				dir = "on"
			}
			s.flipped[l][b2i(shFlag)].Inc()
			flips = append(flips, Flip{Label: l, Direction: dir, Live: liveScore, Shadow: shScore})
		}
		if len(flips) == 0 || it.Record == nil {
			continue
		}
		v, _ := json.Marshal(Record{V: 1, ID: it.ID, Models: s.ids, Live: cmp.Or(it.Decision, contract.DecisionAllow), Flips: flips})
		it.Extra = append(it.Extra, pipeline.Output{Topic: s.topic, Key: it.Record.Key, Value: v, BestEffort: true})
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
