package rewrite

import (
	"context"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/generator"
	"github.com/sieve-stream/sieve/guardrails"
	"github.com/sieve-stream/sieve/models"
	"github.com/sieve-stream/sieve/pipeline"
)

const toxic = "you fucking idiot, the fucking update broke everything"

// scripted answers from a list, one call at a time, and records feedback.
type scripted struct {
	answers  [][]string
	feedback [][]string
}

func (s *scripted) Name() string { return "scripted" }
func (s *scripted) Rewrite(_ context.Context, texts, fb []string) ([]string, error) {
	s.feedback = append(s.feedback, fb)
	a := s.answers[0]
	if len(s.answers) > 1 {
		s.answers = s.answers[1:]
	}
	return a[:len(texts)], nil
}

func item() *pipeline.Item {
	return &pipeline.Item{ID: "m-1", Msg: &contract.Message{Text: toxic}, Record: &pipeline.Record{Key: []byte("m-1")}, Verdict: contract.Verdict{Decision: contract.DecisionRewrite}}
}

func stage(t *testing.T, rw generator.Rewriter, fallback string) *Stage {
	t.Helper()
	tox, err := models.Builtin("toxicity")
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{Rewriter: rw, Judge: tox, Labels: tox.Describe().Labels, Fallback: fallback, Topic: "rewrites"})
}

func TestRetryWithFeedbackThenAccept(t *testing.T) {
	rw := &scripted{answers: [][]string{{"the update broke everything, see http://spam.example"}, {"the update broke everything"}}}
	it := item()
	if err := stage(t, rw, FallbackBlock).Process(context.Background(), []*pipeline.Item{it}); err != nil {
		t.Fatal(err)
	}
	if it.Rewrite == nil || *it.Rewrite != "the update broke everything" || it.Decision != contract.DecisionRewrite {
		t.Fatalf("rewrite %v decision %s", it.Rewrite, it.Decision)
	}
	if len(rw.feedback) != 2 || rw.feedback[0] != nil || !strings.Contains(rw.feedback[1][0], "new link") {
		t.Fatalf("feedback %q", rw.feedback)
	}
	if len(it.Extra) != 1 || it.Extra[0].Topic != "rewrites" || !strings.Contains(string(it.Extra[0].Value), "the update broke everything") {
		t.Fatalf("rewrites topic output %+v", it.Extra)
	}
}

// A rewrite that fails its rails twice is never emitted: the fallback
// decides.
func TestFallbackWhenRewritesKeepFailing(t *testing.T) {
	for _, tc := range []struct {
		fallback string
		check    func(*pipeline.Item) bool
	}{
		{FallbackBlock, func(it *pipeline.Item) bool { return it.Rewrite == nil && it.Decision == contract.DecisionBlock }},
		{FallbackMask, func(it *pipeline.Item) bool {
			return it.Rewrite != nil && !strings.Contains(*it.Rewrite, "fucking") && strings.Contains(*it.Rewrite, "*")
		}},
	} {
		rw := &scripted{answers: [][]string{{toxic}}}
		it := item()
		if err := stage(t, rw, tc.fallback).Process(context.Background(), []*pipeline.Item{it}); err != nil {
			t.Fatal(err)
		}
		if !tc.check(it) {
			t.Fatalf("fallback %s: rewrite %v decision %s", tc.fallback, it.Rewrite, it.Decision)
		}
		for _, o := range it.Extra {
			if strings.Contains(string(o.Value), "fucking") {
				t.Fatalf("a failed rewrite was emitted: %s", o.Value)
			}
		}
	}
}

func TestEmbeddedRewriterThroughTheStage(t *testing.T) {
	tox, _ := models.Builtin("toxicity")
	it := item()
	if err := stage(t, &generator.Embedded{Model: tox, Labels: tox.Describe().Labels}, FallbackBlock).Process(context.Background(), []*pipeline.Item{it}); err != nil {
		t.Fatal(err)
	}
	if it.Rewrite == nil || strings.Contains(*it.Rewrite, "fucking") || !strings.Contains(*it.Rewrite, "update broke everything") {
		t.Fatalf("rewrite %v decision %s", it.Rewrite, it.Decision)
	}
}

// The policy file's output rails check candidates too.
func TestOutputRailsFromThePolicy(t *testing.T) {
	p, err := guardrails.ParsePolicy([]byte("rails: {output: [{scanner: banned, action: block, words: [competitorco]}]}"))
	if err != nil {
		t.Fatal(err)
	}
	rw := &scripted{answers: [][]string{{"the update broke everything, try competitorco"}, {"the update broke everything"}}}
	s := stage(t, rw, FallbackBlock)
	s.o.Rails = guardrails.NewEngine(p)
	it := item()
	if err := s.Process(context.Background(), []*pipeline.Item{it}); err != nil {
		t.Fatal(err)
	}
	if it.Rewrite == nil || *it.Rewrite != "the update broke everything" || !strings.Contains(rw.feedback[1][0], "output rail banned") {
		t.Fatalf("rewrite %v, feedback %q", it.Rewrite, rw.feedback)
	}
}

// The grounding check asks the tagger whether the rewrite brought in a
// person, place or organisation the source did not have.
func TestNewEntityIsCaught(t *testing.T) {
	tests := []struct{ candidate, source, want string }{
		{"the update from Microsoft broke everything", "the fucking update broke everything", "Microsoft"},
		{"The update broke everything. It did.", "the fucking update broke everything, it did", ""},
		{"tell John Smith to stop posting", "tell that idiot to stop posting", "John Smith"},
		{"I moved to Berlin and hate it", "I moved here and fucking hate it", "Berlin"},
		{"ask priya about the shitty report", "ask priya about the report", ""},
		{"Rose said the garden looks nice", "Rose said the damn garden looks nice", ""},
	}
	for _, tt := range tests {
		if got := newEntity(tt.candidate, tt.source); got != tt.want {
			t.Errorf("%q from %q: new entity %q, want %q", tt.candidate, tt.source, got, tt.want)
		}
	}
}
