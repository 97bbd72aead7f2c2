package aggregate

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

// snapshots keeps the newest snapshot per key, as the compacted state topic
// does once the pipeline's producer wrote them.
type snapshots map[string][]byte

func (s snapshots) Load(_ context.Context, key string) ([]byte, error) { return s[key], nil }

func (s snapshots) save(cfg Config, outs []pipeline.Output) (windows []Record) {
	for _, o := range outs {
		switch o.Topic {
		case cfg.StateTopic:
			s[string(o.Key)] = o.Value
		case cfg.Topic:
			var r Record
			if err := json.Unmarshal(o.Value, &r); err != nil {
				panic(err)
			}
			windows = append(windows, r)
		}
	}
	return windows
}

var part = pipeline.Partition{Topic: "reviews", Partition: 0}

func review(offset int64, ts time.Time, tenant, dept, decision string) *pipeline.Item {
	it := &pipeline.Item{Record: &pipeline.Record{Position: pipeline.Position{Partition: part, Offset: offset}}, Msg: &contract.Message{TS: ts.Format(time.RFC3339), Tenant: tenant}, Verdict: contract.Verdict{Decision: contract.Decision(decision)}}
	it.SetCategory("review_category", dept)
	it.SetScore("dresses", map[bool]float64{true: 0.9, false: 0.1}[dept == "dresses"], "")
	return it
}

func config() Config {
	c := Config{Topic: "aggregates", Windows: []time.Duration{time.Minute}, Lateness: 10 * time.Second}
	c.EnsureDefaults()
	return c
}

func TestWindowsCloseOnEventTimeOnce(t *testing.T) {
	cfg := config()
	store := snapshots{}
	a := New(cfg, Options{Store: store, Group: "g"})
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var items []*pipeline.Item
	for i := range 120 { // two minutes, one review a second
		dept := "tops"
		if i%3 == 0 {
			dept = "dresses"
		}
		items = append(items, review(int64(i), t0.Add(time.Duration(i)*time.Second), "acme", dept, "allow"))
	}
	items[5].Err = &pipeline.ItemError{Code: "invalid_json"} // a dead letter: skipped, offset still moves
	var got []Record
	// First half, then a crash: a new aggregator restores from the snapshot
	// and the input replays from an earlier offset.
	got = append(got, store.save(cfg, a.Fold(part, items[:50]))...)
	got = append(got, store.save(cfg, a.Fold(part, items[50:80]))...)
	b := New(cfg, Options{Store: store, Group: "g"})
	got = append(got, store.save(cfg, b.Fold(part, items[40:100]))...) // 40..79 replayed
	got = append(got, store.save(cfg, b.Fold(part, items[100:]))...)
	// A late review for the first minute, after it closed.
	late := review(120, t0.Add(3*time.Second), "acme", "tops", "allow")
	// And one far ahead that closes the second minute.
	ahead := review(121, t0.Add(3*time.Minute), "acme", "tops", "allow")
	got = append(got, store.save(cfg, b.Fold(part, []*pipeline.Item{late, ahead}))...)

	if len(got) != 2 {
		t.Fatalf("%d windows closed, want 2: %+v", len(got), got)
	}
	first, second := got[0], got[1]
	if !first.Window.Start.Equal(t0) || first.Window.Size != "1m" || first.Tenant != "acme" {
		t.Fatalf("first window %+v", first.Window)
	}
	if first.Messages != 59 || second.Messages != 60 {
		t.Errorf("messages %d and %d, want 59 (one dead letter) and 60: replayed records must not count twice", first.Messages, second.Messages)
	}
	// Reviews 0, 3, ..., 57 are dresses; the dead letter (5) was a top,
	// and the late top after the window closed is left out.
	if c := first.Categories["review_category"]; c["dresses"] != 20 || c["tops"] != 39 {
		t.Errorf("first minute's departments %v, want 20 dresses and 39 tops", c)
	}
	if m := second.MeanScores["dresses"]; m < 0.36 || m > 0.38 {
		t.Errorf("mean dresses score %v, want (20×0.9+40×0.1)/60 ≈ 0.367", m)
	}
	if first.Decisions["allow"] != 59 {
		t.Errorf("decisions %v", first.Decisions)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Topic: "a", Windows: []time.Duration{500 * time.Millisecond}},
		{Topic: "a", Lateness: -time.Second},
		{Topic: "a", StateTopic: "a"},
		{Topic: "a", Cross: []string{"one"}},
	} {
		c.EnsureDefaults()
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	var off Config
	off.EnsureDefaults()
	if off.Enabled() || off.Validate() != nil {
		t.Error("no topic means no aggregates, and no error")
	}
}

// Snapshots come back from a topic anyone with access can write to: a bad
// one is an error, never a panic, and a good one survives a round trip.
func FuzzDecodeSnapshot(f *testing.F) {
	f.Add([]byte(`{"v":1,"offset":41,"watermark_ms":1764237600000,"windows":[{"size_s":60,"start":1764237600,"tenant":"acme","counts":{"messages":3,"categories":{"review_category":{"dresses":2,"other":1}}}}]}`))
	f.Add([]byte(`{"v":1,"windows":[{"size_s":0,"counts":null}]}`))
	f.Add([]byte(`{"v":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st := &partState{Windows: map[windowKey]*counts{}}
		if err := st.decode(b); err != nil {
			return
		}
		enc, err := st.encode()
		if err != nil {
			t.Fatal(err)
		}
		back := &partState{Windows: map[windowKey]*counts{}}
		if err := back.decode(enc); err != nil {
			t.Fatalf("re-decoding %s: %v", enc, err)
		}
		if back.Offset != st.Offset || len(back.Windows) != len(st.Windows) {
			t.Fatalf("round trip changed the state: %s", enc)
		}
	})
}

// settling counts Settle calls on top of snapshots.
type settling struct {
	snapshots
	settled int
}

func (s *settling) Settle(context.Context) error { s.settled++; return nil }

// Before an exactly-once transaction, partitions new to the aggregator are
// restored once the store has settled; known ones cost nothing.
func TestPrepareSettlesThenRestores(t *testing.T) {
	cfg := config()
	store := &settling{snapshots: snapshots{}}
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	first := New(cfg, Options{Store: store, Group: "g"})
	store.save(cfg, first.Fold(part, []*pipeline.Item{review(0, t0, "", "tops", "allow"), review(1, t0.Add(time.Second), "", "tops", "allow")}))

	a := New(cfg, Options{Store: store, Group: "g"})
	a.Prepare([]pipeline.Partition{part})
	if store.settled != 1 {
		t.Fatalf("settled %d times, want 1", store.settled)
	}
	if st := a.parts[part]; st == nil || st.Offset != 1 {
		t.Fatalf("partition not restored from its snapshot: %+v", st)
	}
	a.Prepare([]pipeline.Partition{part})
	if store.settled != 1 {
		t.Fatalf("a known partition made the store settle again")
	}
}
