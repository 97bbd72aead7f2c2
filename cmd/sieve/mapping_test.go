package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// `sieve classify -c` with an input.mapping reads JSONL of a custom schema;
// a line without the mapped text is a dead letter naming the path.
func TestClassifyWithMapping(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sieve.yaml")
	os.WriteFile(cfg, []byte(`
input:
  mapping:
    id: comment.id
    text: [comment.title, comment.body]
    author: user.id
    channel: "'comments'"
`), 0o644)
	lines := classifyLines(t, cfg,
		`{"comment":{"id":1,"title":"hi","body":"you are a worthless stupid idiot"},"user":{"id":"u-1"}}`,
		`{"comment":{"id":2,"body":"lovely weather today"},"user":{"id":"u-2"}}`,
		`{"comment":{"id":3},"user":{"id":"u-3"}}`)
	var v1, v2 struct {
		ID    string   `json:"id"`
		Flags []string `json:"flags"`
	}
	json.Unmarshal([]byte(lines[0]), &v1)
	json.Unmarshal([]byte(lines[1]), &v2)
	if v1.ID != "1" || !slices.Contains(v1.Flags, "harassment") || v2.ID != "2" || len(v2.Flags) != 0 {
		t.Errorf("verdicts %+v %+v", v1, v2)
	}
	if !strings.Contains(lines[2], "mapping_failed") || !strings.Contains(lines[2], "comment.body") {
		t.Errorf("third line %s, want a mapping_failed dead letter naming comment.body", lines[2])
	}
}
