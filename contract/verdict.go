package contract

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sieve-stream/sieve/internal/registry"
)

// Decision is what Sieve says should happen to a message (contract:
// verdict "decision").
type Decision string

// Decisions of the contract.
const (
	DecisionAllow   Decision = "allow"
	DecisionFlag    Decision = "flag"
	DecisionRewrite Decision = "rewrite"
	// DecisionSupport keeps a post up and shows its author help resources
	// (self-harm intent): removing it would punish someone asking for help.
	DecisionSupport Decision = "support"
	DecisionBlock   Decision = "block"
)

// Decisions are the contract's decisions, least severe first: where rules,
// rails or stages disagree, the most severe wins.
var Decisions = []Decision{DecisionAllow, DecisionFlag, DecisionRewrite, DecisionSupport, DecisionBlock}

// Severity is d's place in Decisions; "" counts as allow, and an unknown
// decision is -1.
func Severity(d Decision) int {
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

// DecisionNames is Decisions joined for an error message: "allow, flag,
// rewrite, support or block".
func DecisionNames() string {
	names := make([]string, len(Decisions))
	for i, d := range Decisions {
		names[i] = string(d)
	}
	return registry.Or(names)
}

// Valid reports whether d is one of the contract's decisions.
func (d Decision) Valid() bool { return d != "" && Severity(d) >= 0 }

// Dead-letter headers of the contract.
const (
	HeaderError  = "sieve-error"
	HeaderDetail = "sieve-detail"
	HeaderStage  = "sieve-stage"
	HeaderSource = "sieve-source"
)

// Score is one label's score in [0, 1].
type Score struct {
	Label string
	Score float64
}

// Finding is evidence a detector or signal stage attached to an item
// (contract: verdict "findings").
type Finding struct {
	Detector string `json:"detector"`
	Media    *int   `json:"media,omitempty"`
	Signal   string `json:"signal"`
	Detail   string `json:"detail,omitempty"`
	// Label, when set, is the label this evidence flags at its detector's
	// own threshold (an NSFW image flags "sexual"): the policy adds it to
	// the flags whatever the label's score.
	Label string `json:"label,omitempty"`
}

// PartOCR is the source of text read from an image (contract: verdict
// "parts").
const PartOCR = "ocr"

// Part is text a stage found in the message beyond its text field, such
// as an image's text read by OCR (contract: verdict "parts"). Its scores
// count towards the message's: each label's score is the highest over
// the text and the parts.
type Part struct {
	Source string `json:"source"`
	Media  *int   `json:"media,omitempty"`
	Text   string `json:"text"`
	// Scores are the part's own label scores; Flags those at or above
	// their thresholds (the policy fills them in).
	Scores []Score  `json:"-"`
	Flags  []string `json:"flags"`
}

// Verdict is what the stages concluded about one message: the fields of
// the contract's verdict that they fill in.
type Verdict struct {
	Scores []Score           // label scores, any order
	Models map[string]string // label -> model id@version that decided it
	Flags  []string
	// Categories are what categories models (a review's department, its
	// sentiment) chose, one per model.
	Categories []Category
	Decision   Decision
	Rewrite    *string
	Findings   []Finding
	// Parts are texts found beyond the message's text (an image's OCR
	// text), each scored on its own.
	Parts []Part
	// Signals are numbers about the message's context (campaign size,
	// author velocity) that policy rules can use.
	Signals map[string]float64
	Cached  bool
}

// Raise sets the decision to d when d is more severe than the one it has:
// where rules, rails or stages disagree, the most severe wins.
func (it *Verdict) Raise(d Decision) {
	if Severity(d) > Severity(it.Decision) {
		it.Decision = d
	}
}

// SetScore sets or replaces the score of label.
func (it *Verdict) SetScore(label string, score float64, model string) {
	for i := range it.Scores {
		if it.Scores[i].Label == label {
			it.Scores[i].Score = score
			it.setModel(label, model)
			return
		}
	}
	it.Scores = append(it.Scores, Score{label, score})
	it.setModel(label, model)
}

func (it *Verdict) setModel(label, model string) {
	if model == "" {
		return
	}
	if it.Models == nil {
		it.Models = make(map[string]string, 2)
	}
	it.Models[label] = model
}

// Score returns the score of label and whether it was set.
func (it *Verdict) Score(label string) (float64, bool) {
	for _, s := range it.Scores {
		if s.Label == label {
			return s.Score, true
		}
	}
	return 0, false
}

// CategoryOther is the category of an item a categories model abstained on.
const CategoryOther = "other"

// ChooseCategory is a categories model's rule: the most probable of its
// labels (score(j) is label j's score, ok false when unscored); Other when
// that scores below abstainBelow, or when what the labels leave of the
// probability (a background class: texts of another kind) outweighs it.
func ChooseCategory(labels []string, score func(j int) (float64, bool), abstainBelow float64) string {
	best, bestScore, sum := CategoryOther, -1.0, 0.0
	for j, l := range labels {
		if s, ok := score(j); ok {
			sum += s
			if s > bestScore {
				best, bestScore = l, s
			}
		}
	}
	if bestScore < abstainBelow || 1-sum > bestScore {
		return CategoryOther
	}
	return best
}

// Category is the category one model chose for an item.
type Category struct {
	Model string
	Value string
}

// SetCategory sets or replaces model's category.
func (it *Verdict) SetCategory(model, value string) {
	for i := range it.Categories {
		if it.Categories[i].Model == model {
			it.Categories[i].Value = value
			return
		}
	}
	it.Categories = append(it.Categories, Category{model, value})
}

// Category returns model's category, or "" when it has none.
func (it *Verdict) Category(model string) string {
	for _, c := range it.Categories {
		if c.Model == model {
			return c.Value
		}
	}
	return ""
}

// Categories is one categories model: its labels, of which a message gets
// the most probable (ChooseCategory), and the score below which it
// abstains.
type Categories struct {
	Model        string
	Labels       []string
	AbstainBelow float64
}

// Category is the category c chooses from v's scores.
func (c Categories) Category(v *Verdict) string {
	return ChooseCategory(c.Labels, func(j int) (float64, bool) { return v.Score(c.Labels[j]) }, c.AbstainBelow)
}

// Source is where a verdict's message was read (contract: verdict
// "source").
type Source struct {
	Topic     string
	Partition int32
	Offset    int64
}

// AppendVerdict appends the verdict on message id as one JSON object
// (contract: "Verdict"); src is nil for a message not read from a topic,
// msg nil for one that was not decoded. Keys come in a fixed order and
// labels sorted by name so that the same verdict always encodes to the same
// bytes.
func AppendVerdict(b []byte, id string, src *Source, it *Verdict, msg *Message, latency time.Duration, keepUnknown bool) []byte {
	b = append(b, `{"v":1,"id":`...)
	b = appendString(b, id)
	if src != nil {
		b = append(b, `,"source":{"topic":`...)
		b = appendString(b, src.Topic)
		b = append(b, `,"partition":`...)
		b = strconv.AppendInt(b, int64(src.Partition), 10)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, src.Offset, 10)
		b = append(b, '}')
	}
	b = append(b, `,"labels":{`...)
	scores := it.Scores
	byLabel := func(a, b Score) int { return strings.Compare(a.Label, b.Label) }
	if !slices.IsSortedFunc(scores, byLabel) {
		slices.SortFunc(scores, byLabel)
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
	b = appendString(b, string(d))
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
		if f.Label != "" {
			b = append(b, `,"label":`...)
			b = appendString(b, f.Label)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if len(it.Parts) > 0 {
		b = append(b, `,"parts":[`...)
		for i, p := range it.Parts {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"source":`...)
			b = appendString(b, p.Source)
			if p.Media != nil {
				b = append(b, `,"media":`...)
				b = strconv.AppendInt(b, int64(*p.Media), 10)
			}
			b = append(b, `,"text":`...)
			b = appendString(b, p.Text)
			b = append(b, `,"flags":[`...)
			for j, f := range p.Flags {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, f)
			}
			b = append(b, "]}"...)
		}
		b = append(b, ']')
	}
	b = append(b, `,"models":{`...)
	if len(it.Models) > 0 {
		labels := modelLabels(it.Models, scores)
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
		var buf [8]string
		names := buf[:0]
		for n := range it.Signals {
			names = append(names, n)
		}
		slices.Sort(names)
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
	if keepUnknown && msg != nil && (len(msg.Meta) > 0 || len(msg.Extra) > 0) {
		b = appendMeta(b, msg)
	}
	return append(b, '}')
}

// modelLabels returns the labels of models in order. Usually they are the
// labels of the scores, already sorted, and no sort is needed.
func modelLabels(models map[string]string, scores []Score) []string {
	out := make([]string, 0, len(models))
	if len(models) == len(scores) {
		for _, s := range scores {
			if _, ok := models[s.Label]; !ok {
				out = out[:0]
				break
			}
			out = append(out, s.Label)
		}
		if len(out) == len(models) {
			return out
		}
	}
	for l := range models {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
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
