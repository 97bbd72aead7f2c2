package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sieve promote --write rewrites the file; without a shadow classifier it
// is a usage error that says so.
func TestPromoteCommand(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sieve.yaml")
	if err := os.WriteFile(p, []byte("classifiers:\n  - {type: linear, builtin: spam}\n  - {type: rules, shadow: true} # candidate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"promote", "-c", p, "--write"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, _ := os.ReadFile(p)
	if strings.Contains(string(b), "shadow") || strings.Contains(string(b), "builtin: spam") || !strings.Contains(string(b), "# candidate") {
		t.Fatalf("promoted file:\n%s", b)
	}
	errb.Reset()
	if code := Main([]string{"promote", "-c", p}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "shadow: true") {
		t.Fatalf("a second promote: exit %d, %q; want 2 naming the missing shadow classifier", code, errb.String())
	}
}
