// Package datasetstest finds the shared labelled datasets for tests: the
// folder $SIEVE_DATASETS names, else shared/datasets beside the repository
// (as CI lays it out), found from the test's package directory upwards.
package datasetstest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sieve-stream/sieve/datasets"
)

// Dir returns the datasets folder, once it holds file (a path inside it,
// such as "sms_spam/train.jsonl"); without one the test is skipped, saying
// where it looked.
func Dir(t testing.TB, file string) string {
	t.Helper()
	var tried []string
	if d := os.Getenv("SIEVE_DATASETS"); d != "" {
		if exists(filepath.Join(d, file)) {
			return d
		}
		tried = append(tried, d)
	} else if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			d := filepath.Join(dir, "shared", "datasets")
			if exists(filepath.Join(d, file)) {
				return d
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
		tried = append(tried, "shared/datasets above "+wd)
	}
	t.Skipf("the shared datasets (%s) are not beside the repository (looked in %v); set SIEVE_DATASETS", file, tried)
	return ""
}

// Texts reads up to n non-empty texts from the train.jsonl of each set, in
// the order given, skipping the test when a set is missing.
func Texts(t testing.TB, n int, sets ...string) []string {
	t.Helper()
	dir := Dir(t, filepath.Join(sets[0], "train.jsonl"))
	type row struct{ ID, Text string }
	var out []string
	for _, set := range sets {
		path := filepath.Join(dir, set, "train.jsonl")
		if !exists(path) {
			t.Skipf("the shared dataset %s is not in %s", set, dir)
		}
		rows, err := datasets.LoadLines(path, func(r *row) string { return r.ID })
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if len(out) == n {
				return out
			}
			if r.Text != "" {
				out = append(out, r.Text)
			}
		}
	}
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
