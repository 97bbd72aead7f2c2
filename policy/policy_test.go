package policy

import (
	"reflect"
	"testing"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

func TestDecide(t *testing.T) {
	p, err := New(Default, map[string]float64{"spam": 0.5, "toxic": 0.5})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		scores   map[string]float64
		prior    contract.Decision
		flags    []string
		decision contract.Decision
	}{
		{"clean", map[string]float64{"spam": 0.1, "toxic": 0.2}, "", []string{}, contract.DecisionAllow},
		{"flagged, no rule", map[string]float64{"spam": 0.7}, "", []string{"spam"}, contract.DecisionFlag},
		{"spam block", map[string]float64{"spam": 0.97}, "", []string{"spam"}, contract.DecisionBlock},
		{"toxic rewrite band", map[string]float64{"toxic": 0.7}, "", []string{"toxic"}, contract.DecisionRewrite},
		{"toxic top of band blocks", map[string]float64{"toxic": 0.9}, "", []string{"toxic"}, contract.DecisionBlock},
		{"most severe wins", map[string]float64{"toxic": 0.7, "spam": 0.99}, "", []string{"spam", "toxic"}, contract.DecisionBlock},
		{"earlier stage's block is kept", map[string]float64{"spam": 0.1}, contract.DecisionBlock, []string{}, contract.DecisionBlock},
	}
	campaign := &pipeline.Item{Verdict: contract.Verdict{Signals: map[string]float64{"campaign_authors": 150, "campaign_size": 200}}}
	campaign.SetScore("spam", 0.2, "")
	p.Decide(campaign)
	if campaign.Decision != contract.DecisionFlag {
		t.Errorf("a 150-author campaign got %q, want flag", campaign.Decision)
	}
	for _, tt := range tests {
		it := &pipeline.Item{Verdict: contract.Verdict{Decision: tt.prior}}
		for l, s := range tt.scores {
			it.SetScore(l, s, "")
		}
		p.Decide(it)
		if it.Decision != tt.decision || !reflect.DeepEqual(append([]string{}, it.Flags...), tt.flags) {
			t.Errorf("%s: got %v %q, want %v %q", tt.name, it.Flags, it.Decision, tt.flags, tt.decision)
		}
	}
}

func TestThresholdOverride(t *testing.T) {
	p, err := New(Config{Thresholds: map[string]float64{"spam": 0.9}}, map[string]float64{"spam": 0.5})
	if err != nil {
		t.Fatal(err)
	}
	it := &pipeline.Item{}
	it.SetScore("spam", 0.8, "")
	p.Decide(it)
	if len(it.Flags) != 0 {
		t.Fatalf("config threshold 0.9 should override the model's 0.5: flags %v", it.Flags)
	}
}

// Categories models name one category per item, from the scores whether
// they were cached or fresh, and their labels never flag.
func TestCategories(t *testing.T) {
	dept := contract.Categories{Model: "review_category", Labels: []string{"dresses", "tops"}, AbstainBelow: 0.4}
	p, err := New(Config{}, map[string]float64{"spam": 0.5}, dept)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		scores map[string]float64
		want   string
	}{
		{map[string]float64{"dresses": 0.8, "tops": 0.2}, "dresses"},
		{map[string]float64{"dresses": 0.3, "tops": 0.35}, contract.CategoryOther},
		{map[string]float64{"spam": 0.9}, contract.CategoryOther},
		// The labels leave 0.5 to the model's background class: not a review.
		{map[string]float64{"dresses": 0.45, "tops": 0.05}, contract.CategoryOther},
	}
	for _, tt := range tests {
		it := &pipeline.Item{}
		for l, s := range tt.scores {
			it.SetScore(l, s, "")
		}
		p.Decide(it)
		if got := it.Category("review_category"); got != tt.want {
			t.Errorf("%v: category %q, want %q", tt.scores, got, tt.want)
		}
		for _, f := range it.Flags {
			if f == "dresses" || f == "tops" {
				t.Errorf("%v: a category label flagged", tt.scores)
			}
		}
	}
}

// What images bring: a finding that carries a label flags it whatever the
// label's score (an NSFW image: sexual), a part's scores give the part its
// own flags, and a rewrite asked for by an image's text becomes a flag,
// since rewriting the message's text would leave the image as it is.
func TestDecideWithMedia(t *testing.T) {
	p, err := New(Default, map[string]float64{"harassment": 0.5, "sexual": 0.5})
	if err != nil {
		t.Fatal(err)
	}
	zero := 0
	nsfw := &pipeline.Item{Verdict: contract.Verdict{Findings: []contract.Finding{{Detector: "nsfw", Media: &zero, Signal: "sexual", Label: "sexual"}}}}
	nsfw.SetScore("sexual", 0.1, "")
	p.Decide(nsfw)
	if !reflect.DeepEqual(nsfw.Flags, []string{"sexual"}) || nsfw.Decision != contract.DecisionFlag {
		t.Errorf("nsfw finding: flags %v decision %s", nsfw.Flags, nsfw.Decision)
	}

	meme := &pipeline.Item{Verdict: contract.Verdict{Parts: []contract.Part{{Source: contract.PartOCR, Media: &zero, Text: "you idiot",
		Scores: []contract.Score{{Label: "harassment", Score: 0.9}}}}}}
	meme.SetScore("harassment", 0.9, "") // merged from the part
	p.Decide(meme)
	if meme.Decision != contract.DecisionFlag || !reflect.DeepEqual(meme.Parts[0].Flags, []string{"harassment"}) {
		t.Errorf("meme: decision %s, part flags %v; want flag and [harassment]", meme.Decision, meme.Parts[0].Flags)
	}

	text := &pipeline.Item{Verdict: contract.Verdict{Parts: []contract.Part{{Source: contract.PartOCR, Media: &zero, Text: "hello",
		Scores: []contract.Score{{Label: "harassment", Score: 0.1}}}}}}
	text.SetScore("harassment", 0.9, "") // the message's own text
	p.Decide(text)
	if text.Decision != contract.DecisionRewrite || len(text.Parts[0].Flags) != 0 {
		t.Errorf("abusive text with a clean image: decision %s, part flags %v; want rewrite and none", text.Decision, text.Parts[0].Flags)
	}
}
