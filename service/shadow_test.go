package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/service"
	"github.com/sieve-stream/sieve/shadow"
)

// A shadow classifier beside the live ones changes no decision, and its
// agreement metrics and records match a count made here from its own
// scores.
func TestShadowChangesNoDecision(t *testing.T) {
	texts := make([]string, 0, 2000)
	for i := range 2000 {
		switch i % 4 {
		case 0:
			texts = append(texts, fmt.Sprintf("WIN a free prize now, click here %d", i))
		case 1:
			texts = append(texts, fmt.Sprintf("see you at the market on day %d", i))
		case 2:
			texts = append(texts, fmt.Sprintf("free entry to win cash, txt %d now", i))
		default:
			texts = append(texts, fmt.Sprintf("this offer is a discount for friends %d", i))
		}
	}
	run := func(cfg *config.Config, reg prometheus.Registerer) []*pipeline.Item {
		t.Helper()
		app, err := service.NewApp(cfg, service.StageOptions{Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		defer app.Close()
		var all []*pipeline.Item
		for start := 0; start < len(texts); start += 256 {
			var batch []*pipeline.Item
			for i, tx := range texts[start:min(start+256, len(texts))] {
				id := fmt.Sprint("m-", start+i)
				batch = append(batch, &pipeline.Item{ID: id, Msg: &contract.Message{ID: id, Text: tx},
					Record: &pipeline.Record{Key: []byte(id)}})
			}
			for _, st := range app.Stages {
				if err := st.Process(context.Background(), batch); err != nil {
					t.Fatal(err)
				}
			}
			all = append(all, batch...)
		}
		return all
	}
	base := config.Default()
	base.Signals.Disabled, base.Rewrite.Disabled = true, true
	withShadow := config.Default()
	withShadow.Signals.Disabled, withShadow.Rewrite.Disabled = true, true
	withShadow.Classifiers = append(withShadow.Classifiers, classifiers.Config{Type: "rules", Shadow: true})
	withShadow.EnsureDefaults()
	if err := withShadow.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	plain, shadowed := run(base, nil), run(withShadow, reg)

	rules, err := classifiers.NewRules(classifiers.DefaultRules)
	if err != nil {
		t.Fatal(err)
	}
	spam := slices.Index(rules.Describe().Labels, "spam")
	scores, err := rules.Classify(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	agree, on, off, records := 0, 0, 0, 0
	for i := range texts {
		a, b := plain[i], shadowed[i]
		if a.Decision != b.Decision || !slices.Equal(a.Flags, b.Flags) {
			t.Fatalf("%q: decision %s flags %v without the shadow, %s %v with it", texts[i], a.Decision, a.Flags, b.Decision, b.Flags)
		}
		liveFlag := slices.Contains(b.Flags, "spam")
		shFlag := float64(scores[i][spam]) >= rules.Describe().Thresholds["spam"]
		switch {
		case liveFlag == shFlag:
			agree++
		case shFlag:
			on++
		default:
			off++
		}
		for _, o := range b.Extra {
			if o.Topic == "shadow" {
				records++
				var r shadow.Record
				if err := json.Unmarshal(o.Value, &r); err != nil || r.ID != b.ID || len(r.Flips) == 0 {
					t.Fatalf("shadow record %s: %v", o.Value, err)
				}
			}
		}
	}
	if on+off == 0 || agree == 0 {
		t.Fatalf("the test data should hold agreements and flips: agree %d, on %d, off %d", agree, on, off)
	}
	got := func(name string, labels ...string) int {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, mm := range mf.GetMetric() {
				match := true
				for i := 0; i+1 < len(labels); i += 2 {
					found := false
					for _, lp := range mm.GetLabel() {
						if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
							found = true
						}
					}
					match = match && found
				}
				if match {
					return int(mm.GetCounter().GetValue())
				}
			}
		}
		return 0
	}
	if g := got("sieve_shadow_agreement_total", "label", "spam", "agree", "true"); g != agree {
		t.Errorf("agreement on spam: metric %d, counted %d", g, agree)
	}
	if g := got("sieve_shadow_flips_total", "label", "spam", "direction", "on"); g != on {
		t.Errorf("flips on: metric %d, counted %d", g, on)
	}
	if g := got("sieve_shadow_flips_total", "label", "spam", "direction", "off"); g != off {
		t.Errorf("flips off: metric %d, counted %d", g, off)
	}
	if records != on+off {
		t.Errorf("%d shadow records, %d flips counted (every flip here is on the one shared label)", records, on+off)
	}
}
