package proxy

import "github.com/sieve-stream/sieve/guardrails"

// segmentWords is how many new words each segment of a reply brings. A
// segment with its context (Config.Context) stays within a few of the
// models' windows, so one insult among it is not diluted away.
const segmentWords = 4

// segment is a byte span of a reply's text that the output rails read on
// its own.
type segment struct{ start, end int }

// segments are the spans the output rails read in a reply's text, defined
// by its words alone: segment k runs from word k·step−context (at least the
// first) to word (k+1)·step−1 (at most the last). A streamed reply is read
// segment by segment as each completes, and a JSON reply, whole, is read in
// the same segments: whatever chunks the upstream sends, the rails read the
// same texts and so decide the same. Unless final, a segment is complete
// only once whitespace follows its last word: a word still arriving
// ("https://google.co") is judged whole, once it is.
func segments(text string, step, context int, final bool) []segment {
	var starts, ends []int
	in := false
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if in {
				ends = append(ends, i)
				in = false
			}
		case !in:
			starts = append(starts, i)
			in = true
		}
	}
	if in {
		if final {
			ends = append(ends, len(text))
		} else {
			starts = starts[:len(starts)-1]
		}
	}
	n := len(starts)
	var out []segment
	for k := 0; k*step < n; k++ {
		last := (k+1)*step - 1
		if last >= n {
			if !final {
				break
			}
			last = n - 1
		}
		out = append(out, segment{starts[max(0, k*step-context)], ends[last]})
	}
	return out
}

// contextWords is how many words before its own a segment reads again:
// Config.Context characters at about six a word.
func (s *Server) contextWords() int { return max(1, s.cfg.Context/6) }

// refuses says whether a segment's result stops the reply: a block, or a
// rewrite, which a reply partly sent cannot have.
func refuses(a guardrails.Action) bool {
	return a == guardrails.ActionBlock || a == guardrails.ActionRewrite
}

// readWhole runs the output rails on a text held whole (a JSON reply's
// field, a streamed refusal or tool call) as they read a streamed text:
// its segments, then the whole. refused says the text may not be sent: a
// segment refused it, as it would end a stream, or the whole is blocked.
// res is that result, or else the whole's (which may mask).
func (s *Server) readWhole(t string, rail func(string) guardrails.Result) (res guardrails.Result, refused bool) {
	for _, sg := range segments(t, segmentWords, s.contextWords(), true) {
		if sg.start == 0 && sg.end == len(t) {
			continue // the whole, read next
		}
		if res := rail(t[sg.start:sg.end]); refuses(res.Action) {
			return res, true
		}
	}
	res = rail(t)
	return res, res.Action == guardrails.ActionBlock
}

// appendMasks adds res's mask findings to masks, their spans moved by
// offset into the text the segment came from.
func appendMasks(masks []guardrails.Finding, res guardrails.Result, offset int) []guardrails.Finding {
	for _, f := range res.Findings {
		if f.Action == guardrails.ActionMask {
			f.Span.Start += offset
			f.Span.End += offset
			masks = append(masks, f)
		}
	}
	return masks
}
