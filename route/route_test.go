package route

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

func item(decision, tenant string, cats map[string]string, scores map[string]float64, flags ...string) *pipeline.Item {
	it := &pipeline.Item{Record: &pipeline.Record{Key: []byte("k1"), Value: []byte(`{"text":"x"}`),
		Headers: []pipeline.Header{{Key: "h", Value: []byte("v")}}}, Msg: &contract.Message{Tenant: tenant}, Verdict: contract.Verdict{Decision: contract.Decision(decision), Flags: flags}}
	for m, c := range cats {
		it.SetCategory(m, c)
	}
	for l, s := range scores {
		it.SetScore(l, s, "")
	}
	return it
}

func TestRoutes(t *testing.T) {
	s, err := New([]Config{
		{Topic: "reviews.{category}"},
		{Topic: "reviews.needs-attention", Payload: PayloadMessage,
			When: When{Categories: map[string]string{"sentiment": "negative"}, Labels: map[string]float64{"safety": 0.5}}},
		{Topic: "t.{tenant}.{decision}", When: When{Decisions: []contract.Decision{"flag", "block"}}},
		{Topic: "spam", When: When{Flags: []string{"spam", "scam"}}},
		{Topic: "flagged.{flag}", When: When{Decisions: []contract.Decision{"flag"}}},
	}, []contract.Categories{{Model: "review_category", Labels: []string{"dresses", "tops"}}, {Model: "sentiment", Labels: []string{"negative", "positive"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		it     *pipeline.Item
		topics []string
	}{
		{"category only", item("", "", map[string]string{"review_category": "dresses", "sentiment": "positive"}, map[string]float64{"safety": 0.9}),
			[]string{"reviews.dresses"}},
		{"abstained", item("", "", map[string]string{"review_category": "other"}, nil), []string{"reviews.other"}},
		{"negative and about safety", item("", "", map[string]string{"review_category": "tops", "sentiment": "negative"}, map[string]float64{"safety": 0.7}),
			[]string{"reviews.tops", "reviews.needs-attention"}},
		{"negative, not about safety", item("", "", map[string]string{"review_category": "tops", "sentiment": "negative"}, map[string]float64{"safety": 0.2}),
			[]string{"reviews.tops"}},
		{"flagged, odd tenant", item("flag", "acme corp/eu", map[string]string{"review_category": "tops"}, map[string]float64{"spam": 0.8, "scam": 0.6}, "scam", "spam"),
			[]string{"reviews.tops", "t.acme_corp_eu.flag", "spam", "flagged.spam"}},
		{"no tenant", item("block", "", map[string]string{"review_category": "tops"}, nil), []string{"reviews.tops", "t.none.block"}},
	}
	for _, tt := range tests {
		if err := s.Process(context.Background(), []*pipeline.Item{tt.it}); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range tt.it.Extra {
			got = append(got, o.Topic)
			if string(o.Key) != "k1" {
				t.Errorf("%s: routed key %q, want the input's", tt.name, o.Key)
			}
			if o.Topic == "reviews.needs-attention" {
				if o.SameAsVerdict || string(o.Value) != `{"text":"x"}` || len(o.Headers) != 1 {
					t.Errorf("%s: a message route must carry the input value and headers: %+v", tt.name, o)
				}
			} else if !o.SameAsVerdict {
				t.Errorf("%s: a verdict route must ask for the verdict", tt.name)
			}
		}
		if !reflect.DeepEqual(got, tt.topics) {
			t.Errorf("%s: routed to %v, want %v", tt.name, got, tt.topics)
		}
	}
	want := []string{"reviews.dresses", "reviews.needs-attention", "reviews.other", "reviews.tops", "spam"}
	if got := s.Topics(); !reflect.DeepEqual(got, want) {
		t.Errorf("Topics() = %v, want %v (t.{tenant}... cannot be known ahead)", got, want)
	}
	if !s.routes[2].Dynamic() || s.routes[0].Dynamic() {
		t.Error("only a template over tenant or channel is dynamic")
	}
}

func TestRouteErrorsNameTheField(t *testing.T) {
	tests := []struct {
		r    Config
		cats []contract.Categories
		want string
	}{
		{Config{}, nil, "routes[0].topic: is required"},
		{Config{Topic: "x.{nope}"}, nil, "routes[0].topic: unknown placeholder {nope}"},
		{Config{Topic: "x.{category"}, nil, "routes[0].topic: unclosed"},
		{Config{Topic: "bad topic"}, nil, "routes[0].topic"},
		{Config{Topic: "x.{category}"}, nil, "needs a categories model"},
		{Config{Topic: "x.{category.dept}"}, []contract.Categories{{Model: "sentiment"}}, "no categories model is named dept"},
		{Config{Topic: "x", Payload: "both"}, nil, "routes[0].payload"},
		{Config{Topic: "x", When: When{Decisions: []contract.Decision{"maybe"}}}, nil, "routes[0].when.decisions"},
		{Config{Topic: "x", When: When{Labels: map[string]float64{"spam": 2}}}, nil, "routes[0].when.labels.spam"},
		{Config{Topic: "x", When: When{Categories: map[string]string{"dept": "a"}}}, nil, "routes[0].when.categories.dept"},
	}
	for _, tt := range tests {
		_, err := New([]Config{tt.r}, tt.cats)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want it to contain %q", tt.r, err, tt.want)
		}
	}
}
