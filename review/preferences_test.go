package review

import (
	"testing"
	"time"
)

func TestPreferences(t *testing.T) {
	s := func(x string) *string { return &x }
	items := map[string]*Item{}
	for _, id := range []string{"a", "b", "c", "d"} {
		it := item(t, id, 0.6, 0, 0)
		items[id] = it
	}
	t0 := time.Unix(100, 0)
	ds := []Decision{
		{ID: "a", Rewrite: s("first edit"), ModelRewrite: s("model a"), DecidedAt: t0},
		{ID: "a", Rewrite: s("second edit"), ModelRewrite: s("model a"), DecidedAt: t0.Add(time.Minute)}, // the latest wins
		{ID: "b", ModelRewrite: s("model b"), DecidedAt: t0},                                             // no edit
		{ID: "c", Rewrite: s("same"), ModelRewrite: s("same"), DecidedAt: t0},                            // no preference
		{ID: "d", Rewrite: s("edit d"), ModelRewrite: s("model d"), DecidedAt: t0},
		{ID: "gone", Rewrite: s("x"), ModelRewrite: s("y"), DecidedAt: t0}, // its text is unknown
	}
	got := Preferences(items, ds, "be kind")
	if len(got) != 2 || got[0].ID != "a" || got[1].ID != "d" {
		t.Fatalf("pairs %+v, want a and d", got)
	}
	p := got[0]
	if p.Chosen[0].Content != "second edit" || p.Rejected[0].Content != "model a" || p.Prompt[0].Content != "be kind" ||
		p.Prompt[1].Role != "user" || p.Prompt[1].Content != "text of a" || p.Chosen[0].Role != "assistant" {
		t.Fatalf("pair %+v", p)
	}
}
