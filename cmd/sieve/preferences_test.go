package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// Decisions that edited a rewrite become DPO pairs; the others do not.
func TestExportPreferencesFromFiles(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"export-preferences", "--items", "testdata/review/items.jsonl", "--decisions", "testdata/review/decisions.jsonl"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d pairs, want 1:\n%s", len(lines), out.String())
	}
	var p struct {
		Prompt, Chosen, Rejected []struct{ Role, Content string }
	}
	if err := json.Unmarshal([]byte(lines[0]), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Prompt) != 2 || p.Prompt[1].Content != "you are an idiot about this" ||
		p.Chosen[0].Content != "I think you are mistaken about this" || p.Rejected[0].Content != "you are wrong about this" {
		t.Fatalf("pair %+v", p)
	}
	if !strings.Contains(errb.String(), "1 preference pairs from 2 decisions on 2 items") {
		t.Fatalf("stderr %q", errb.String())
	}
}
