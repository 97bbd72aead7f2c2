package proxy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/guardrails"
)

// FuzzSSE: the stream reader takes any bytes an upstream sends. Every
// event it yields is made of data lines of the input, and a stream of
// single-line events comes back event for event.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{"data: {\"a\":1}\n\ndata: [DONE]\n\n", "data: a\ndata: b\n\n", "event: x\ndata:y\n\n", "data:", "\n\n\n", ": comment\ndata: z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var got []string
		for ev := range sseEvents(strings.NewReader(in)) {
			got = append(got, ev)
		}
		if len(got) > strings.Count(in, "data:") {
			t.Fatalf("%d events from %d data lines", len(got), strings.Count(in, "data:"))
		}
		for _, ev := range got {
			for _, line := range strings.Split(ev, "\n") {
				if !strings.Contains(in, line) {
					t.Fatalf("event line %q is not in the input", line)
				}
			}
		}
	})
}

// FuzzChatRequest: the messages of any request body are read for the rails
// and masked without panicking, and masking keeps each message's other
// fields and a JSON-valid content.
func FuzzChatRequest(f *testing.F) {
	for _, s := range []string{
		`[{"role":"user","content":"hi jo@example.com"}]`,
		`[{"role":"user","content":[{"type":"text","text":"call 555-0100"},{"type":"image_url","image_url":{"url":"https://x/a.png"}}]}]`,
		`[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"ok"}]`,
		`[{"role":1,"content":{"x":[]}}]`, `[null]`, `[]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var msgs []rawMessage
		if json.Unmarshal([]byte(in), &msgs) != nil {
			return
		}
		vault := guardrails.NewVault()
		for _, m := range msgs {
			if m == nil {
				continue
			}
			_ = m.texts()
			keys := len(m)
			m.mask(vault, guardrails.PII{})
			if len(m) != keys {
				t.Fatalf("masking changed the fields of %v", m)
			}
			if c, ok := m["content"]; ok && !json.Valid(c) {
				t.Fatalf("masked content is not JSON: %s", c)
			}
		}
	})
}
