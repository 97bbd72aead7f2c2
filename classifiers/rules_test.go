package classifiers

import (
	"context"
	"testing"
)

func TestRulesBaseline(t *testing.T) {
	r, err := NewRules(DefaultRules)
	if err != nil {
		t.Fatal(err)
	}
	d := r.Describe()
	if d.Kind != MultiLabel || len(d.Labels) != 2 || d.Version == "" {
		t.Fatalf("description %+v", d)
	}
	texts := []string{
		"see you at the park later",
		"WINNER!! Claim your FREE cash prize now, click here http://x.example",
		"shut up you stupid idiot",
		"Freedom of speech matters", // "free" must match whole words only
	}
	scores, err := r.Classify(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	spam, toxic := 0, 1
	if d.Labels[0] != "spam" {
		spam, toxic = 1, 0
	}
	if scores[0][spam] != 0 || scores[0][toxic] != 0 {
		t.Errorf("benign scored %v", scores[0])
	}
	if scores[1][spam] < 0.95 {
		t.Errorf("obvious spam scored %v", scores[1][spam])
	}
	if scores[2][toxic] < 0.8 || scores[2][spam] != 0 {
		t.Errorf("insult scored %v", scores[2])
	}
	if scores[3][spam] != 0 {
		t.Errorf("'Freedom' matched the keyword 'free': %v", scores[3])
	}
}

func TestRulesVersionIsContentHash(t *testing.T) {
	a, _ := NewRules(DefaultRules)
	b, _ := NewRules(DefaultRules)
	c, _ := NewRules(RulesConfig{Name: "rules-baseline", Rules: []Rule{{Label: "spam", Weight: 0.5, Keywords: []string{"x"}}}})
	if a.Describe().Version != b.Describe().Version || a.Describe().Version == c.Describe().Version {
		t.Fatal("version must change with the rules and only with them")
	}
}

func BenchmarkRules(b *testing.B) {
	r, _ := NewRules(DefaultRules)
	texts := []string{"see you at the park later, the weather looks great", "WIN a FREE iPhone now!! click here http://bit.ly/1"}
	batch := make([]string, 256)
	for i := range batch {
		batch[i] = texts[i%2]
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Classify(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "texts/s")
}
