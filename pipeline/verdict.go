package pipeline

import (
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// Decisions of the contract.
const (
	DecisionAllow   = "allow"
	DecisionFlag    = "flag"
	DecisionRewrite = "rewrite"
	// DecisionSupport keeps a post up and shows its author help resources
	// (self-harm intent): removing it would punish someone asking for help.
	DecisionSupport = "support"
	DecisionBlock   = "block"
)

// Decisions are the contract's decisions, least severe first: where rules,
// rails or stages disagree, the most severe wins.
var Decisions = []string{DecisionAllow, DecisionFlag, DecisionRewrite, DecisionSupport, DecisionBlock}

// Severity is d's place in Decisions; "" counts as allow, and an unknown
// decision is -1.
func Severity(d string) int {
	if d == "" {
		return 0
	}
	for i, x := range Decisions {
		if x == d {
			return i
		}
	}
	return -1
}

// Dead-letter headers of the contract.
const (
	HeaderError  = "sieve-error"
	HeaderDetail = "sieve-detail"
	HeaderStage  = "sieve-stage"
	HeaderSource = "sieve-source"
)

// AppendVerdict appends the item's verdict as one JSON object (contract:
// "Verdict"). Keys come in a fixed order and labels sorted by name so that the
// same item always encodes to the same bytes.
func AppendVerdict(b []byte, it *Item, latency time.Duration, keepUnknown bool) []byte {
	b = append(b, `{"v":1,"id":`...)
	b = appendString(b, it.ID)
	if it.Record != nil {
		b = append(b, `,"source":{"topic":`...)
		b = appendString(b, it.Record.Topic)
		b = append(b, `,"partition":`...)
		b = strconv.AppendInt(b, int64(it.Record.Partition.Partition), 10)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, it.Record.Offset, 10)
		b = append(b, '}')
	}
	b = append(b, `,"labels":{`...)
	scores := it.Scores
	if !sort.SliceIsSorted(scores, func(i, j int) bool { return scores[i].Label < scores[j].Label }) {
		sort.Slice(scores, func(i, j int) bool { return scores[i].Label < scores[j].Label })
	}
	for i, s := range scores {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s.Label)
		b = append(b, ':')
		b = appendScore(b, s.Score)
	}
	b = append(b, `},"flags":[`...)
	for i, f := range it.Flags {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f)
	}
	b = append(b, `],"decision":`...)
	d := it.Decision
	if d == "" {
		d = DecisionAllow
	}
	b = appendString(b, d)
	if len(it.Categories) > 0 {
		cats := it.Categories
		if !sort.SliceIsSorted(cats, func(i, j int) bool { return cats[i].Model < cats[j].Model }) {
			sort.Slice(cats, func(i, j int) bool { return cats[i].Model < cats[j].Model })
		}
		b = append(b, `,"categories":{`...)
		for i, c := range cats {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, c.Model)
			b = append(b, ':')
			b = appendString(b, c.Value)
		}
		b = append(b, '}')
	}
	b = append(b, `,"rewrite":`...)
	if it.Rewrite == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *it.Rewrite)
	}
	b = append(b, `,"findings":[`...)
	for i, f := range it.Findings {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"detector":`...)
		b = appendString(b, f.Detector)
		if f.Media != nil {
			b = append(b, `,"media":`...)
			b = strconv.AppendInt(b, int64(*f.Media), 10)
		}
		b = append(b, `,"signal":`...)
		b = appendString(b, f.Signal)
		if f.Detail != "" {
			b = append(b, `,"detail":`...)
			b = appendString(b, f.Detail)
		}
		b = append(b, '}')
	}
	b = append(b, `],"models":{`...)
	if len(it.Models) > 0 {
		labels := make([]string, 0, len(it.Models))
		for l := range it.Models {
			labels = append(labels, l)
		}
		sort.Strings(labels)
		for i, l := range labels {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, l)
			b = append(b, ':')
			b = appendString(b, it.Models[l])
		}
	}
	b = append(b, '}')
	if len(it.Signals) > 0 {
		names := make([]string, 0, len(it.Signals))
		for n := range it.Signals {
			names = append(names, n)
		}
		sort.Strings(names)
		b = append(b, `,"signals":{`...)
		for i, n := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, n)
			b = append(b, ':')
			b = strconv.AppendFloat(b, math.Round(it.Signals[n]*100)/100, 'f', -1, 64)
		}
		b = append(b, '}')
	}
	b = append(b, `,"cached":`...)
	b = strconv.AppendBool(b, it.Cached)
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendFloat(b, math.Round(float64(latency.Microseconds())/10)/100, 'f', -1, 64)
	if keepUnknown && it.Msg != nil && (len(it.Msg.Meta) > 0 || len(it.Msg.Extra) > 0) {
		b = appendMeta(b, it.Msg)
	}
	return append(b, '}')
}

// appendMeta writes the input's meta object merged with its unknown fields.
// Known meta keys win over unknown top-level fields of the same name.
func appendMeta(b []byte, m *Message) []byte {
	b = append(b, `,"meta":`...)
	if len(m.Extra) == 0 {
		return append(b, m.Meta...)
	}
	b = append(b, '{')
	n := 0
	if len(m.Meta) > 2 && m.Meta[0] == '{' {
		inner := trimObject(m.Meta)
		if len(inner) > 0 {
			b = append(b, inner...)
			n++
		}
	}
	keys := make([]string, 0, len(m.Extra))
	for k := range m.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = append(b, m.Extra[k]...)
		n++
	}
	return append(b, '}')
}

// trimObject returns the inside of a JSON object's braces, spaces trimmed.
func trimObject(raw []byte) []byte {
	i, j := 0, len(raw)
	for i < j && raw[i] != '{' {
		i++
	}
	for j > i && raw[j-1] != '}' {
		j--
	}
	if j-i < 2 {
		return nil
	}
	in := raw[i+1 : j-1]
	for len(in) > 0 && (in[0] == ' ' || in[0] == '\n' || in[0] == '\t' || in[0] == '\r') {
		in = in[1:]
	}
	for len(in) > 0 && (in[len(in)-1] == ' ' || in[len(in)-1] == '\n' || in[len(in)-1] == '\t' || in[len(in)-1] == '\r') {
		in = in[:len(in)-1]
	}
	return in
}

func appendScore(b []byte, f float64) []byte {
	if math.IsNaN(f) || f < 0 {
		f = 0
	} else if f > 1 {
		f = 1
	}
	// Four decimals are more than any threshold needs and keep verdicts small.
	return strconv.AppendFloat(b, math.Round(f*1e4)/1e4, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string (invalid UTF-8 as U+FFFD).
func AppendString(b []byte, s string) []byte { return appendString(b, s) }

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so the output is always valid JSON.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// DeadLetter builds the dead-letter record of a failed item: the original
// key and bytes, unchanged, with the contract's headers.
func DeadLetter(topic string, it *Item) Output {
	e := it.Err
	headers := make([]Header, 0, len(it.Record.Headers)+4)
	headers = append(headers, it.Record.Headers...)
	headers = append(headers,
		Header{HeaderError, []byte(e.Code)},
		Header{HeaderDetail, []byte(e.Detail)},
		Header{HeaderStage, []byte(e.Stage)},
		Header{HeaderSource, []byte(it.Record.Position.String())},
	)
	return Output{Topic: topic, Key: it.Record.Key, Value: it.Record.Value, Headers: headers}
}
