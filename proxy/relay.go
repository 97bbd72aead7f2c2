package proxy

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sieve-stream/sieve/guardrails"
)

// replyFields are the text fields of a reply message the output rails read,
// besides its tool calls: what the user reads, what a reasoning model shows
// of its thinking, and its own refusal.
var replyFields = []string{"content", "reasoning_content", "refusal"}

// relayJSON checks every choice's every text (content, reasoning, refusal,
// each tool call's name and arguments) with the output rails, masks or
// refuses, restores masked personal data, and passes the rest through.
func (s *Server) relayJSON(w http.ResponseWriter, body io.Reader, tenant string, vault *guardrails.Vault, audit func(guardrails.Result)) {
	raw, err := io.ReadAll(io.LimitReader(body, 16*s.cfg.MaxBodyBytes))
	if err != nil {
		apiError(w, http.StatusBadGateway, "upstream_error", "", "Reading the upstream answer failed.")
		return
	}
	var resp map[string]json.RawMessage
	var choices []map[string]json.RawMessage
	if json.Unmarshal(raw, &resp) != nil || json.Unmarshal(resp["choices"], &choices) != nil {
		apiError(w, http.StatusBadGateway, "upstream_error", "", "The upstream answer is not a chat completion.")
		return
	}
	var model string
	_ = json.Unmarshal(resp["model"], &model)
	railStart := time.Now()
	var worst guardrails.Result
	// check runs the rails on one text; false means the reply is refused.
	rail := func(t string) guardrails.Result {
		res := s.rails.Output(t, tenant, "chat")
		if guardrails.Severity(res.Action) > guardrails.Severity(worst.Action) {
			worst = res
		}
		return res
	}
	check := func(t string) (string, bool) {
		res, refused := s.readWhole(t, rail)
		if refused {
			return "", false
		}
		if res.Action == guardrails.ActionMask {
			t = res.Text
		}
		return vault.Restore(t), true
	}
	refuse := func() {
		s.m.Rail.WithLabelValues("output").Observe(since(railStart))
		audit(worst)
		s.refuse(w, model, false, "output", worst)
	}
	for i, c := range choices {
		var msg map[string]json.RawMessage
		if json.Unmarshal(c["message"], &msg) != nil {
			continue
		}
		for _, field := range replyFields {
			var t string
			if json.Unmarshal(msg[field], &t) != nil || t == "" {
				continue
			}
			out, ok := check(t)
			if !ok {
				refuse()
				return
			}
			msg[field], _ = json.Marshal(out)
		}
		var calls []map[string]json.RawMessage
		if json.Unmarshal(msg["tool_calls"], &calls) == nil && len(calls) > 0 {
			for _, call := range calls {
				var fn map[string]json.RawMessage
				if json.Unmarshal(call["function"], &fn) != nil {
					continue
				}
				var name, args string
				_ = json.Unmarshal(fn["name"], &name)
				_ = json.Unmarshal(fn["arguments"], &args)
				if _, ok := check(name + " " + args); !ok {
					refuse()
					return
				}
				// Personal data masked on the way up comes back in the
				// arguments the client's tool will run with.
				fn["arguments"], _ = json.Marshal(vault.Restore(args))
				call["function"], _ = json.Marshal(fn)
			}
			msg["tool_calls"], _ = json.Marshal(calls)
		}
		choices[i]["message"], _ = json.Marshal(msg)
	}
	s.m.Rail.WithLabelValues("output").Observe(since(railStart))
	audit(worst)
	resp["choices"], _ = json.Marshal(choices)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// streamText is one streamed text field of one choice: what has arrived,
// and how much of it was released to the client.
type streamText struct {
	full     strings.Builder
	released int
	checked  int                  // segments the rails have read
	masks    []guardrails.Finding // their mask findings, in the text's offsets
}

// streamChoice is one choice of a streamed reply.
type streamChoice struct {
	text    map[string]*streamText // content, reasoning_content
	refusal strings.Builder
	tools   []*streamTool // by tool-call index
	finish  string
}

type streamTool struct {
	id, typ, name string
	args          strings.Builder
}

// errStreamTruncated is what a client is told when the upstream's stream
// ended without its [DONE]: the reply may be cut short, and must not look
// complete.
const errStreamTruncated = "the upstream stream ended before it was complete"

// relayStream passes a server-sent-events answer through, choice by
// choice. The content and reasoning of each choice are released with the
// last HoldBack characters held back until the output rails have checked
// the window that contains them; a refusal and tool calls are held whole,
// checked, and sent at the end (a tool call is only usable whole anyway).
// On a hit the stream ends with the refusal and finish_reason
// "content_filter"; the offending text is never sent. A stream the upstream
// breaks off ends with an error event, not a clean stop.
func (s *Server) relayStream(w http.ResponseWriter, body io.Reader, tenant string, vault *guardrails.Vault, audit func(guardrails.Result), started time.Time) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	c := &chunker{w: w}
	choices := map[int]*streamChoice{}
	var order []int
	choice := func(i int) *streamChoice {
		ch := choices[i]
		if ch == nil {
			ch = &streamChoice{text: map[string]*streamText{}}
			choices[i] = ch
			order = append(order, i)
		}
		return ch
	}
	var worst guardrails.Result
	first := true
	blocked := func(idx int, res guardrails.Result) {
		audit(res)
		c.write(idx, map[string]any{"content": s.cfg.Refusal}, nil, nil)
		for _, i := range order {
			extra := map[string]any(nil)
			if i == idx {
				extra = map[string]any{"sieve": sieveInfo("output", res)}
			}
			c.write(i, map[string]any{}, "content_filter", extra)
		}
		c.done()
	}
	rail := func(t string) guardrails.Result {
		start := time.Now()
		res := s.rails.Output(t, tenant, "chat")
		s.m.Rail.WithLabelValues("output").Observe(since(start))
		if guardrails.Severity(res.Action) > guardrails.Severity(worst.Action) {
			worst = res
		}
		return res
	}
	// release reads the segments of a text field that completed since the
	// last call (all of them, then the whole, at the end) and sends what
	// the rails cleared; false means the stream was refused.
	release := func(idx int, field string, st *streamText, final bool) bool {
		text := st.full.String()
		if len(text) == st.released && !final {
			return true
		}
		segs := segments(text, segmentWords, s.contextWords(), final)
		for ; st.checked < len(segs); st.checked++ {
			sg := segs[st.checked]
			if sg.start == 0 && sg.end == len(text) {
				continue // the whole, read below as a JSON reply's is
			}
			res := rail(text[sg.start:sg.end])
			if refuses(res.Action) {
				blocked(idx, res)
				return false
			}
			st.masks = appendMasks(st.masks, res, sg.start)
		}
		upto := len(text)
		if final {
			res := rail(text)
			if res.Action == guardrails.ActionBlock {
				blocked(idx, res)
				return false
			}
			st.masks = appendMasks(st.masks, res, 0)
		} else {
			read := 0
			if st.checked > 0 {
				read = segs[st.checked-1].end
			}
			upto = min(read, safeCut(text, max(st.released, len(text)-s.cfg.HoldBack)))
		}
		out := ""
		// Mask, as the JSON reply would, rather than refuse: hold back from
		// the start of any masked span the cut would split, then send the
		// part masked on its own.
		masked := false
		for _, f := range st.masks {
			if f.Span.Start < upto && f.Span.End > upto {
				upto = max(st.released, f.Span.Start)
			}
		}
		for _, f := range st.masks {
			masked = masked || f.Span.End > st.released && f.Span.Start < upto
		}
		if masked {
			if upto > st.released {
				part := s.rails.Output(text[st.released:upto], tenant, "chat")
				if part.Action == guardrails.ActionBlock || part.Action == guardrails.ActionRewrite {
					blocked(idx, part)
					return false
				}
				out = part.Text
			}
		} else if upto > st.released {
			out = text[st.released:upto]
		}
		if upto > st.released {
			if first {
				s.m.TTFT.Observe(since(started))
				first = false
			}
			c.write(idx, map[string]any{field: vault.Restore(out)}, nil, nil)
			st.released = upto
			// Overlapping segments find a span again and again; once it
			// is sent it no longer bounds a cut.
			st.masks = slices.DeleteFunc(st.masks, func(f guardrails.Finding) bool { return f.Span.End <= st.released })
		}
		return true
	}
	var usage json.RawMessage
	complete := false
	events := sseEvents(io.LimitReader(body, 16*s.cfg.MaxBodyBytes))
	for data := range events {
		if data == "[DONE]" {
			complete = true
			break
		}
		var chunk struct {
			ID      string          `json:"id"`
			Model   string          `json:"model"`
			Created int64           `json:"created"`
			Usage   json.RawMessage `json:"usage"`
			Choices []struct {
				Index int                        `json:"index"`
				Delta map[string]json.RawMessage `json:"delta"`
				// A pointer: a null finish_reason is no finish.
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if json.Unmarshal([]byte(data), &chunk) != nil {
			continue
		}
		if c.id == "" {
			c.id, c.model, c.created = chunk.ID, chunk.Model, chunk.Created
		}
		if len(chunk.Usage) > 0 && string(chunk.Usage) != "null" {
			usage = chunk.Usage
		}
		touched := map[int]bool{}
		for _, ch := range chunk.Choices {
			st := choice(ch.Index)
			touched[ch.Index] = true
			for _, field := range []string{"content", "reasoning_content"} {
				var t string
				if json.Unmarshal(ch.Delta[field], &t) == nil && t != "" {
					if st.text[field] == nil {
						st.text[field] = &streamText{}
					}
					st.text[field].full.WriteString(t)
				}
			}
			var ref string
			if json.Unmarshal(ch.Delta["refusal"], &ref) == nil {
				st.refusal.WriteString(ref)
			}
			var calls []toolCall
			_ = json.Unmarshal(ch.Delta["tool_calls"], &calls)
			for k, tc := range calls {
				i := k
				if tc.Index != nil {
					i = *tc.Index
				}
				if i < 0 || i > 128 {
					continue
				}
				for len(st.tools) <= i {
					st.tools = append(st.tools, &streamTool{})
				}
				t := st.tools[i]
				t.id = cmp.Or(tc.ID, t.id)
				t.typ = cmp.Or(tc.Type, t.typ)
				t.name += tc.Function.Name
				t.args.WriteString(tc.Function.Arguments)
			}
			if ch.FinishReason != nil {
				st.finish = *ch.FinishReason
			}
		}
		for _, i := range order {
			if !touched[i] {
				continue
			}
			for _, field := range []string{"reasoning_content", "content"} {
				if st := choices[i].text[field]; st != nil && !release(i, field, st, false) {
					return
				}
			}
		}
	}
	// The end: what was held back, then the refusals and tool calls whole.
	for _, i := range order {
		ch := choices[i]
		for _, field := range []string{"reasoning_content", "content"} {
			if st := ch.text[field]; st != nil && !release(i, field, st, true) {
				return
			}
		}
		if ref := ch.refusal.String(); ref != "" {
			if res, refused := s.readWhole(ref, rail); refused {
				blocked(i, res)
				return
			}
			c.write(i, map[string]any{"refusal": vault.Restore(ref)}, nil, nil)
		}
		for k, t := range ch.tools {
			if res, refused := s.readWhole(t.name+" "+t.args.String(), rail); refused {
				blocked(i, res)
				return
			}
			call := map[string]any{"index": k, "id": t.id, "type": cmp.Or(t.typ, "function"),
				"function": map[string]any{"name": t.name, "arguments": vault.Restore(t.args.String())}}
			c.write(i, map[string]any{"tool_calls": []any{call}}, nil, nil)
		}
	}
	audit(worst)
	if !complete {
		c.fail(errStreamTruncated)
		return
	}
	if len(order) == 0 {
		order = []int{0}
		choice(0)
	}
	for _, i := range order {
		c.write(i, map[string]any{}, cmp.Or(choices[i].finish, "stop"), nil)
	}
	if usage != nil {
		c.usage(usage)
	}
	c.done()
}

// sseEvents yields the data of each server-sent event of r: its data lines
// joined by newlines (an event may span several), as the SSE standard
// reads them.
func sseEvents(r io.Reader) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var data []string
		flush := func() bool {
			if len(data) == 0 {
				return true
			}
			ev := strings.Join(data, "\n")
			data = data[:0]
			return yield(ev)
		}
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				if !flush() {
					return
				}
				continue
			}
			if v, ok := strings.CutPrefix(line, "data:"); ok {
				data = append(data, strings.TrimPrefix(v, " "))
			}
		}
		flush()
	}
}

// chunker writes chat.completion.chunk events.
type chunker struct {
	w       http.ResponseWriter
	id      string
	model   string
	created int64
	started map[int]bool
	mu      sync.Mutex
}

func (c *chunker) event(ev any) {
	b, _ := json.Marshal(ev)
	fmt.Fprintf(c.w, "data: %s\n\n", b)
	if f, ok := c.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *chunker) write(index int, delta map[string]any, finish any, extra map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.created == 0 {
		c.created = time.Now().Unix()
	}
	if c.started == nil {
		c.started = map[int]bool{}
	}
	if !c.started[index] {
		delta["role"] = "assistant"
		c.started[index] = true
	}
	ev := map[string]any{"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model,
		"choices": []any{map[string]any{"index": index, "delta": delta, "finish_reason": finish}}}
	for k, v := range extra {
		ev[k] = v
	}
	c.event(ev)
}

func (c *chunker) content(s string) {
	if s != "" {
		c.write(0, map[string]any{"content": s}, nil, nil)
	}
}

func (c *chunker) finish(reason string, info map[string]any) {
	var extra map[string]any
	if info != nil {
		extra = map[string]any{"sieve": info}
	}
	c.write(0, map[string]any{}, reason, extra)
	c.done()
}

// usage passes the upstream's usage chunk (stream_options.include_usage).
func (c *chunker) usage(u json.RawMessage) {
	c.event(map[string]any{"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model,
		"choices": []any{}, "usage": u})
}

func (c *chunker) done() {
	fmt.Fprint(c.w, "data: [DONE]\n\n")
	if f, ok := c.w.(http.Flusher); ok {
		f.Flush()
	}
}

// fail ends a stream with an error event and no [DONE], as OpenAI's API
// reports a stream it could not finish; the SDKs raise it.
func (c *chunker) fail(msg string) {
	c.event(map[string]any{"error": map[string]any{"message": msg, "type": "upstream_error", "code": "stream_truncated"}})
}
