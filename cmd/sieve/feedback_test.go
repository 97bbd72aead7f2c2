package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/internal/datasetstest"
)

// scamVariants writes texts of one new scam wording (a "new number"
// message from a family member), drawn from pieces that a seed picks.
func scamVariants(seed uint64, n int, relations, events, asks []string) []string {
	r := rand.New(rand.NewPCG(seed, 7))
	greet := []string{"hi", "hello", "hey", "hiya"}
	number := []string{"this is my new number", "this is my temporary number", "I'm on a friend's phone for now", "please save this number"}
	pick := func(x []string) string { return x[r.IntN(len(x))] }
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		s := fmt.Sprintf("%s %s, %s, %s, %s", pick(greet), pick(relations), pick(events), pick(number), pick(asks))
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Moderators' decisions teach a candidate model a scam wording the
// built-in spam model misses: 200 decisions on one set of variants, then
// held-out variants with other relatives, mishaps and requests.
func TestTrainFromModeratorFeedback(t *testing.T) {
	sms := filepath.Join(datasetstest.Dir(t, "sms_spam/train.jsonl"), "sms_spam", "train.jsonl")
	dir := t.TempDir()
	train := scamVariants(1, 200,
		[]string{"mum", "mom", "dad", "grandma"},
		[]string{"I dropped my phone in the sink", "my phone broke", "I lost my phone at the gym", "my old phone got stolen"},
		[]string{"can you message me on whatsapp", "text me back when you see this", "can you help me pay a bill today", "I need a favour, message me here"})
	held := scamVariants(2, 60,
		[]string{"nan", "auntie", "grandad", "dad"},
		[]string{"my screen cracked and it died", "the old one fell in the toilet", "my phone got wet at the pool"},
		[]string{"can you send me a quick text", "I need help with a payment, message me", "whatsapp me when you are free"})
	var items, decisions, heldOut bytes.Buffer
	for i, s := range train {
		it, _ := json.Marshal(map[string]any{"v": 1, "id": fmt.Sprint("r-", i), "labels": map[string]float64{"spam": 0.1}, "decision": "allow",
			"message": map[string]string{"text": s}})
		d, _ := json.Marshal(map[string]any{"v": 1, "id": fmt.Sprint("r-", i), "reviewer": "alice", "decision": "block", "labels": []string{"spam"},
			"claim": fmt.Sprint("c-", i), "decided_at": "2026-11-29T08:00:00Z"})
		items.Write(append(it, '\n'))
		decisions.Write(append(d, '\n'))
	}
	for i, s := range held {
		h, _ := json.Marshal(map[string]any{"id": fmt.Sprint("h-", i), "text": s, "labels": []string{"spam"}})
		heldOut.Write(append(h, '\n'))
	}
	for name, b := range map[string]*bytes.Buffer{"items.jsonl": &items, "decisions.jsonl": &decisions, "held.jsonl": &heldOut} {
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cand := filepath.Join(dir, "candidate.sieve")
	var out, errb bytes.Buffer
	if code := Main([]string{"train", "--data", sms + "#train", "--feedback", filepath.Join(dir, "decisions.jsonl"),
		"--feedback-items", filepath.Join(dir, "items.jsonl"), "--feedback-weight", "3", "--epochs", "16", "--dims", "20", "--out", cand}, &out, &errb); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "merged 200 moderator rows") {
		t.Fatalf("train did not merge the feedback: %s", errb.String())
	}
	compare := func(file string) (old, cand struct{ Recall, F1 float64 }) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Main([]string{"eval", "--compare", "spam", filepath.Join(dir, "candidate.sieve"), "--data", file, "--json"}, &out, &errb); code != 0 {
			t.Fatalf("eval --compare: exit %d: %s", code, errb.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var cmp struct {
			Labels map[string]struct {
				Old struct{ Recall, F1 float64 } `json:"old"`
				New struct{ Recall, F1 float64 } `json:"new"`
			} `json:"labels"`
		}
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &cmp); err != nil {
			t.Fatal(err)
		}
		s := cmp.Labels["spam"]
		return s.Old, s.New
	}
	oldHeld, newHeld := compare(filepath.Join(dir, "held.jsonl"))
	oldSMS, newSMS := compare(sms + "#test")
	t.Logf("held-out scam variants: recall %.3f (built-in spam) → %.3f (candidate); SMS #test spam F1 %.3f → %.3f",
		oldHeld.Recall, newHeld.Recall, oldSMS.F1, newSMS.F1)
	if oldHeld.Recall >= 0.9 {
		t.Fatalf("the built-in model already catches the wording (recall %.3f): the test teaches nothing", oldHeld.Recall)
	}
	if newHeld.Recall < 0.9 {
		t.Errorf("candidate recall on held-out variants %.3f, want ≥ 0.9", newHeld.Recall)
	}
	if newSMS.F1 < oldSMS.F1-0.01 {
		t.Errorf("candidate SMS spam F1 %.3f lost more than 1 point against %.3f", newSMS.F1, oldSMS.F1)
	}
}
