package traffic

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// The demo's stream looks like a platform's: mostly ordinary posts from
// many authors, a few percent spam and abuse, and campaigns as bursts from
// fresh accounts.
func TestPostsLookLikeAPlatform(t *testing.T) {
	c := Corpus{}
	for i := range 5000 {
		c.Benign = append(c.Benign, fmt.Sprintf("ordinary post number %d", i))
	}
	for i := range 200 {
		c.Spam = append(c.Spam, fmt.Sprintf("win a prize now %d", i))
		c.Harmful = append(c.Harmful, fmt.Sprintf("abusive post %d", i))
	}
	const n = 200_000
	kinds := map[Kind]int{}
	authors := map[string]int{}
	campaignAuthors := map[string]bool{}
	g := NewPosts(7, c, DefaultPostMix)
	t0 := time.Unix(1_790_000_000, 0)
	first := string(g.Next(t0).Value)
	for i := range n - 1 {
		m := g.Next(t0.Add(time.Duration(i) * time.Millisecond))
		kinds[m.Kind]++
		if m.Kind.Invalid() {
			continue
		}
		var v struct{ Author, Text string }
		if err := json.Unmarshal(m.Value, &v); err != nil {
			t.Fatalf("%s: %v", m.Value, err)
		}
		if v.Text == "" {
			t.Fatalf("%s: no text", m.Value)
		}
		authors[v.Author]++
		if m.Kind == Campaign {
			campaignAuthors[v.Author] = true
		}
	}
	share := func(k Kind) float64 { return float64(kinds[k]) / n }
	tests := []struct {
		name     string
		got      float64
		low, max float64
	}{
		{"benign share", share(Benign), 0.9, 0.97},
		{"spam share", share(Spam), 0.015, 0.025},
		{"harmful share", share(Toxic), 0.025, 0.035},
		{"campaign share", share(Campaign), 0.005, 0.03},
		{"distinct authors per post", float64(len(authors)) / n, 0.2, 1},
	}
	for _, tt := range tests {
		if tt.got < tt.low || tt.got > tt.max {
			t.Errorf("%s: %.4f, want %.3f–%.3f", tt.name, tt.got, tt.low, tt.max)
		}
	}
	if kinds[Campaign]%30 != 0 && kinds[Campaign] > 0 {
		t.Logf("%d campaign posts (a burst may be cut at the end)", kinds[Campaign])
	}
	if len(campaignAuthors) < kinds[Campaign]*9/10 {
		t.Errorf("campaign posts come from %d accounts for %d posts: a campaign is many accounts", len(campaignAuthors), kinds[Campaign])
	}
	// The busiest author is busy, but not the bulk of the stream.
	busiest := 0
	for _, k := range authors {
		busiest = max(busiest, k)
	}
	if busiest > n/50 {
		t.Errorf("one author wrote %d of %d posts", busiest, n)
	}
	if again := string(NewPosts(7, c, DefaultPostMix).Next(t0).Value); again != first {
		t.Errorf("not deterministic: %s then %s", first, again)
	}
}
