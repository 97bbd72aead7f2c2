package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sieve replay refuses, with exit 2 and the flag named, a missing start
// time and the config's own group.
func TestReplayUsage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sieve.yaml")
	if err := os.WriteFile(p, []byte("kafka: {brokers: [127.0.0.1:1], group: live}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "-c", p, "--group", "backfill"}, "--from-time"},
		{[]string{"replay", "-c", p, "--from-time", "2026-11-29T00:00:00Z", "--group", "live"}, "--group"},
		{[]string{"replay", "--from-time", "2026-11-29T00:00:00Z", "--group", "b"}, "-c sieve.yaml is required"},
	} {
		var out, errb bytes.Buffer
		if code := Main(tt.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: exit %d, %q; want 2 naming %s", tt.args[1:], code, errb.String(), tt.want)
		}
	}
}
