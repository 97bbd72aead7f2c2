package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// classifyLines runs `sieve classify` over msgs, one a line (a string is
// written as it is, anything else as its JSON), with the config file cfg
// ("" for the built-in defaults), and returns the output lines.
func classifyLines(t *testing.T, cfg string, msgs ...any) []string {
	t.Helper()
	var in strings.Builder
	for _, m := range msgs {
		if s, ok := m.(string); ok {
			in.WriteString(s)
		} else {
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			in.Write(b)
		}
		in.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"classify", "--in", path}
	if cfg != "" {
		args = append(args, "-c", cfg)
	}
	var out, errb bytes.Buffer
	if code := Main(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(msgs) {
		t.Fatalf("%d output lines for %d messages:\n%s\n%s", len(lines), len(msgs), out.String(), errb.String())
	}
	return lines
}
