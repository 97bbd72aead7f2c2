package classifiers

import (
	"context"
	"fmt"
	"testing"
)

func TestCompare(t *testing.T) {
	old, err := NewRules(RulesConfig{Name: "old", Rules: []Rule{{Label: "spam", Weight: 0.9, Keywords: []string{"prize"}}}})
	if err != nil {
		t.Fatal(err)
	}
	cand, err := NewRules(RulesConfig{Name: "new", Rules: []Rule{{Label: "spam", Weight: 0.9, Keywords: []string{"prize", "customs fee"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var data []Example
	for i := range 60 {
		data = append(data,
			Example{ID: fmt.Sprint("a", i), Text: fmt.Sprintf("claim your prize %d", i), Labels: []string{"spam"}},
			Example{ID: fmt.Sprint("b", i), Text: fmt.Sprintf("your parcel %d waits: pay the customs fee", i), Labels: []string{"spam"}},
			Example{ID: fmt.Sprint("c", i), Text: fmt.Sprintf("see you at %d", i), Labels: []string{}})
	}
	ctx := context.Background()
	cmp, err := Compare(ctx, old, cand, data, 500, 1)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.ChangedCount != 60 || len(cmp.Changed) != MaxChanged || cmp.Changed[0].ID[0] != 'b' {
		t.Fatalf("changed %d (listed %d, first %+v), want the 60 parcel texts", cmp.ChangedCount, len(cmp.Changed), cmp.Changed[0])
	}
	d := cmp.Labels["spam"]
	if d.Old.Recall != 0.5 || d.New.Recall != 1 || d.DF1 <= 0 {
		t.Fatalf("spam %+v", d)
	}
	if cmp.AnyF1.Diff <= 0 || cmp.AnyF1.CI[0] <= 0 || cmp.AnyF1.CI[0] > cmp.AnyF1.Diff || cmp.AnyF1.CI[1] < cmp.AnyF1.Diff {
		t.Fatalf("any-F1 %+v: want a gain whose 95%% interval excludes 0 and holds it", cmp.AnyF1)
	}
	same, err := Compare(ctx, old, old, data, 200, 1)
	if err != nil {
		t.Fatal(err)
	}
	if same.ChangedCount != 0 || same.MacroF1.Diff != 0 || same.MacroF1.CI != [2]float64{} {
		t.Fatalf("a model against itself: %+v", same)
	}
}
