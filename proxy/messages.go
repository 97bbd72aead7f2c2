package proxy

import (
	"encoding/json"
	"strings"

	"github.com/sieve-stream/sieve/guardrails"
)

// A chat message is kept as its raw fields, so that everything the proxy
// does not check or mask (tool_calls, tool_call_id, name, image parts,
// fields of newer APIs) reaches the upstream exactly as the client sent it.
type rawMessage map[string]json.RawMessage

func (m rawMessage) role() string {
	var r string
	_ = json.Unmarshal(m["role"], &r)
	return r
}

// texts are every piece of text a message carries that a model reads: its
// content (a string, or every part that has text: text, input_text,
// refusal, an image's URL, which can carry words too), its name, and the
// names and arguments of the tools it calls.
func (m rawMessage) texts() []string {
	var out []string
	add := func(s string) {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	var s string
	if json.Unmarshal(m["content"], &s) == nil {
		add(s)
	} else {
		var parts []map[string]json.RawMessage
		_ = json.Unmarshal(m["content"], &parts)
		for _, p := range parts {
			for _, k := range []string{"text", "refusal"} {
				var t string
				if json.Unmarshal(p[k], &t) == nil {
					add(t)
				}
			}
			var img struct {
				URL string `json:"url"`
			}
			if json.Unmarshal(p["image_url"], &img) == nil && !strings.HasPrefix(img.URL, "data:") {
				add(img.URL)
			}
		}
	}
	var name string
	if json.Unmarshal(m["name"], &name) == nil {
		add(name)
	}
	var calls []toolCall
	_ = json.Unmarshal(m["tool_calls"], &calls)
	for _, c := range calls {
		add(c.Function.Name + " " + c.Function.Arguments)
	}
	return out
}

// toolCall is one function call of a message or a reply.
type toolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// mask replaces the personal data in every text of the message's content,
// in place: a string stays a string, parts stay parts (an image part is
// kept as it is).
func (m rawMessage) mask(vault *guardrails.Vault, pii guardrails.PII) {
	maskText := func(t string) (string, bool) {
		spans := pii.Scan(t)
		if len(spans) == 0 {
			return t, false
		}
		return vault.Mask(t, spans), true
	}
	var s string
	if json.Unmarshal(m["content"], &s) == nil {
		if masked, ok := maskText(s); ok {
			m["content"], _ = json.Marshal(masked)
		}
		return
	}
	var parts []map[string]json.RawMessage
	if json.Unmarshal(m["content"], &parts) != nil {
		return
	}
	changed := false
	for _, p := range parts {
		var t string
		if json.Unmarshal(p["text"], &t) == nil {
			if masked, ok := maskText(t); ok {
				p["text"], _ = json.Marshal(masked)
				changed = true
			}
		}
	}
	if changed {
		m["content"], _ = json.Marshal(parts)
	}
}

// DefaultInputRoles are the roles whose turns the input rails read: all of
// them, since an injection can arrive in any (a system prompt a client
// assembles, a tool's result, an earlier turn). DefaultMaskRoles are the
// roles whose personal data is masked before the upstream sees it.
var (
	DefaultInputRoles = []string{"system", "developer", "user", "assistant", "tool", "function"}
	DefaultMaskRoles  = []string{"user", "tool"}
)
