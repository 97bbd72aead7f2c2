package models

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

// The moderation model's dense head computes in Go what its training side
// computes: models/neural/dense_golden.py, a numpy forward pass read
// straight from the head's file, wrote these probabilities for dev rows.
func TestDenseHeadMatchesScript(t *testing.T) {
	m, err := Builtin("moderation")
	if err != nil {
		t.Fatal(err)
	}
	if m.Dense == nil {
		t.Fatal("the built-in moderation model has no dense head")
	}
	b, err := os.ReadFile("testdata/dense_golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var row struct {
			Tokens []string
			Probs  []float64
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		got := m.Dense.Probs(row.Tokens)
		if len(got) != len(row.Probs) {
			t.Fatalf("%d probabilities, the script wrote %d", len(got), len(row.Probs))
		}
		for c, want := range row.Probs {
			if math.Abs(float64(got[c])-want) > 1e-4 {
				t.Errorf("%q: %s %.6f, the script %.6f", strings.Join(row.Tokens, " "), m.Dense.Classes[c], got[c], want)
			}
		}
		rows++
	}
	if rows < 20 {
		t.Fatalf("%d golden rows, want at least 20", rows)
	}
}
