package models

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
)

// longPost is words words of ordinary prose with insert, if any, after the
// first sentence that ends at or past word at.
func longPost(t *testing.T, words, at int, insert string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/long_benign.txt")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Fields(string(b))
	out := make([]string, 0, words+16)
	inserted := insert == ""
	for i := 0; len(out) < words; i++ {
		out = append(out, src[i%len(src)])
		if !inserted && len(out) >= at && strings.HasSuffix(out[len(out)-1], ".") {
			out = append(out, strings.Fields(insert)...)
			inserted = true
		}
	}
	return strings.Join(out, " ")
}

// A 3,000-word post with one threat in it is caught: the linear models
// score long texts over windows, each label at its highest, so what the
// model sees in the threat alone it still sees among 3,000 benign words.
func TestModerationCatchesThreatInLongPost(t *testing.T) {
	m, err := Builtin("moderation")
	if err != nil {
		t.Fatal(err)
	}
	d := m.Describe()
	flags := func(text string) []string {
		out, err := m.Classify(context.Background(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		var f []string
		for j, l := range d.Labels {
			if float64(out[0][j]) >= d.Thresholds[l] {
				f = append(f, l)
			}
		}
		return f
	}
	if f := flags(longPost(t, 3000, 0, "")); len(f) > 0 {
		t.Fatalf("the benign long post alone is flagged %v", f)
	}
	threats := []string{
		"I will find you and kill you and your family tonight.",
		"Keep talking and I'll break both your legs, I know where you live.",
		"Next time I see you I am going to beat you until you stop breathing.",
		"You better watch your back, I'm coming for you with a knife.",
		"I swear I will burn your house down with you inside it.",
	}
	tried, caught, threatening := 0, 0, 0
	for _, th := range threats {
		alone := flags(th)
		if len(alone) == 0 {
			t.Logf("%q: not flagged even alone (a blind spot of the model, not of the windows)", th)
			continue
		}
		for _, at := range []int{1000, 1500, 2000} {
			tried++
			post := longPost(t, 3000, at, th)
			ofAlone := func(f []string) bool {
				return slices.ContainsFunc(f, func(l string) bool { return slices.Contains(alone, l) })
			}
			f := flags(post)
			if !ofAlone(f) {
				t.Logf("missed: %q after word %d of 3,000: flags %v, alone %v", th, at, f, alone)
				continue
			}
			caught++
			if slices.Contains(f, "harassment_threatening") {
				threatening++
			}
		}
	}
	t.Logf("%d of %d long posts caught (%d as harassment_threatening)", caught, tried, threatening)
	// A window holds the threat with up to 21 words around it, which can
	// dilute a borderline score under its threshold: most, not all.
	if caught*5 < tried*4 {
		t.Errorf("%d of %d long posts with a threat caught, want at least 80%%", caught, tried)
	}
}
