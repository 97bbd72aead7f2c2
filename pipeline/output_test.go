package pipeline

import (
	"encoding/json"
	"testing"

	"github.com/sieve-stream/sieve/contract"
)

func TestEnrich(t *testing.T) {
	verdict := []byte(`{"v":1,"id":"m","decision":"flag"}`)
	tests := []struct{ in, want string }{
		{`{"comment":{"body":"hi"},"user":{"id":"u"}}`, `{"comment":{"body":"hi"},"user":{"id":"u"},"moderation":{"v":1,"id":"m","decision":"flag"}}`},
		{`{"text":"hi","moderation":{"old":true}}`, `{"text":"hi","moderation":{"v":1,"id":"m","decision":"flag"}}`},
		{`just text`, `{"text":"just text","moderation":{"v":1,"id":"m","decision":"flag"}}`},
		// A key given twice: readers that keep the last must not read the
		// sender's.
		{`{"text":"x","moderation":{"decision":"allow"},"moderation":{"decision":"allow"}}`, `{"text":"x","moderation":{"v":1,"id":"m","decision":"flag"}}`},
	}
	for _, tt := range tests {
		in := []byte(tt.in)
		got := Enrich(in, verdict)
		if string(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.in, got, tt.want)
		}
		if string(in) != tt.in || !json.Valid(got) {
			t.Errorf("%s: the input changed or the output is not JSON", tt.in)
		}
	}
}

func TestVerdictHeaders(t *testing.T) {
	it := &Item{ID: "m-1", Verdict: contract.Verdict{Decision: contract.DecisionBlock, Flags: []string{"spam", "harassment"},
		Models: map[string]string{"spam": "spam@1", "harassment": "moderation@2"}}}
	h := map[string]string{}
	for _, x := range VerdictHeaders(it) {
		h[x.Key] = string(x.Value)
	}
	if h[HeaderDecision] != "block" || h[HeaderFlags] != "spam,harassment" || h[HeaderModels] != "harassment=moderation@2,spam=spam@1" || h[HeaderID] != "m-1" {
		t.Errorf("headers %v", h)
	}
}
