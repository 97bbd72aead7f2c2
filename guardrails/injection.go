package guardrails

import (
	"encoding/base64"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Labels of the injection heuristics.
const (
	LabelOverride = "instruction_override"
	LabelRolePlay = "role_play"
	LabelEncoded  = "encoded_payload"
	LabelHidden   = "invisible_text"
	LabelExfil    = "markdown_exfiltration"
)

// Injection finds the marks of prompt injection and jailbreak attempts that
// a model of words can miss: instruction-override phrases, role-play
// framings, instructions hidden in base64 or rot13, invisible text (Unicode
// tag characters, zero-width runs) and markdown images that would send data
// to a URL. The `injection` model scores the rest.
type Injection struct{}

// Name implements Scanner.
func (Injection) Name() string { return "injection" }

// Labels implements Scanner.
func (Injection) Labels() []string {
	return []string{LabelOverride, LabelRolePlay, LabelEncoded, LabelHidden, LabelExfil}
}

var (
	// An override: a verb of setting aside, a few filler words, then what
	// the model was told ("ignore the above", "disregard prior
	// directives", "overlook all that you've been instructed before").
	overrideRe = regexp.MustCompile(`(?i)\b(?:ignore|disregard|forget|override|bypass|skip|overlook|discard|abandon|neglect|set\s+aside|stop\s+following|don'?t\s+follow|do\s+not\s+follow)\s+(?:(?:about|all|any|of|the|your|my|these|those|that|this|and|previous|prior|above|earlier|preceding|following|original|initial|system|safety|other|everything|what|all\s+that|you(?:'ve|\s+have|\s+were)\s+(?:been\s+)?(?:told|given|instructed|programmed)(?:\s+before)?)\s+){0,5}(?:instructions?|rules|prompts?|guidelines|directions|directives|context|restrictions|filters|text|messages?|commands?|orders|guidance|constraints|programming|policies|tasks?|above|(?:everything|all\s+that)\s+(?:above|before|you(?:'ve|\s+have|\s+were)\s+(?:been\s+)?(?:told|given|instructed))|you(?:'ve|\s+have|\s+were)\s+(?:been\s+)?(?:told|given|instructed|programmed))\b` +
		`|(?i)\b(?:reveal|print|show|repeat|output|display|leak|spell\s+out|write\s+out|tell\s+me|respond\s+with|give\s+me|list)\s+(?:me\s+)?(?:all\s+|every\s+|each\s+)?(?:of\s+)?(?:your|the|my)?\s*(?:system\s+prompt|(?:hidden|initial|original|secret|first)\s+(?:prompt|instructions?)|instructions?\s+(?:you\s+(?:have\s+been|were|got)\s+given|above|you\s+received)|(?:text|words|everything)\s+above)` +
		`|(?i)\bregardless\s+of\s+(?:any\s+|the\s+|your\s+)?(?:previous|prior|earlier|above)\s+(?:instructions?|tasks?|rules|prompts?)` +
		`|(?i)\bnew\s+instructions\s*:` +
		// Common translations of "ignore (the) previous instructions".
		`|(?i)\bignor(?:e|a|ar|ez|ieren\s+sie)\s+(?:as|las|les|los|le|die|the)?\s*(?:instru[cç][oõ]es|instrucciones|instructions|istruzioni|anweisungen)\s+(?:anteriores|pr[ée]c[ée]dentes|precedenti|vorherigen)` +
		`|(?i)игнорир\p{L}*\s+(?:все\s+)?предыдущие\s+инструкции|이전\s*지시\p{L}*\s*무시|पिछले\s+निर्देशों\s+की\s+अनदेखी|忽略(?:之前|以上|先前|前面)的?(?:所有)?(?:指令|指示|说明)|(?:以前|前)の指示を無視`)
	// A persona without limits, or a claimed authority that unlocks one.
	rolePlayRe = regexp.MustCompile(`\bDAN\b|(?i)\b(?:you\s+are\s+now\s+(?:called|named|known\s+as|going\s+to\s+(?:act|pretend|be)|in\s+\w+\s+mode|["“]|an?\s+(?:unfiltered|uncensored|unrestricted|jailbroken|evil|ai|chatbot|language\s+model))|from\s+now\s+on,?\s+you|pretend\s+(?:to\s+be|you\s+are|that\s+you\s+are)\s+(?:an?\s+|my\s+)?(?:[\w-]+\s+){0,2}(?:ai|chatbot|model|assistant|character|persona|bot|gpt)\b|act\s+as\s+(?:an?\s+)?(?:unfiltered|uncensored|evil|jailbroken)|developer\s+mode|do\s+anything\s+now|you\s+are\s+no\s+longer\s+bound|without\s+any\s+(?:restrictions|filters|limitations)` +
		`|(?:free\s+(?:of|from)|not\s+bound\s+by|never\s+restricted\s+by|isn'?t\s+limited\s+by|not\s+limited\s+by|no\s+longer\s+(?:has|have)\s+(?:any\s+)?)\s+(?:any\s+|all\s+|the\s+)?(?:\w+\s+){0,3}(?:restrictions|filters|limitations|rules|guidelines|policies|censorship)` +
		`|for\s+the\s+rest\s+of\s+this\s+conversation,?\s+you\s+(?:are|will\s+be)\s+replaced` +
		`|you\s+(?:must|will)\s+(?:now\s+)?(?:roleplay|role-play|act|respond|answer)\s+as\s+["“]` +
		`|without\s+(?:any\s+)?(?:moral|ethical)\s+(?:principles|guidelines|restrictions|limits)|(?:amoral|unfiltered|uncensored|nonmoral|immoral)\s+(?:and\s+\w+\s+)?(?:ai|chatbot|model|assistant)` +
		`|(?:god|override|maintenance|admin|debug|sudo)\s+mode|\bi\s*(?:'m|\s+am)\s+your\s+(?:developer|creator|programmer|admin(?:istrator)?|owner)|\bas\s+your\s+(?:developer|creator|programmer|administrator))`)
	base64Re = regexp.MustCompile(`[A-Za-z0-9+/]{24,}={0,2}`)
	exfilRe  = regexp.MustCompile(`!\[[^\]]*\]\(\s*https?://[^)\s]+\?[^)\s]*=[^)\s]*\)`)
	// A reference-style image (![x][ref] with "[ref]: URL?q=...") sends
	// data as well as the inline form does.
	exfilRefUse = regexp.MustCompile(`!\[[^\]]*\]\[([^\]]+)\]`)
	exfilRefDef = regexp.MustCompile(`(?m)^\s*\[([^\]]+)\]:\s*<?https?://\S+\?\S*=\S*`)
	zeroWidth   = regexp.MustCompile("[\u200b\u200c\u200d\u2060\ufeff]{3,}")
	// Words that make decoded or rotated text an instruction.
	instructionWords = regexp.MustCompile(`(?i)\b(?:ignore|instructions?|system prompt|pretend|disregard|password|secret|jailbreak|bypass)\b`)
)

// Scan implements Scanner. The patterns read the text as it is and as a
// reader sees it (Unfold): combining marks stripped, right-to-left
// overrides undone, base64 cut into lines joined; a hit only in the
// unfolded text spans the whole text.
func (Injection) Scan(text string) []Span {
	out := scanInjection(text)
	if u := Unfold(text); u != text {
		seen := map[string]bool{}
		for _, s := range out {
			seen[s.Label] = true
		}
		for _, s := range scanInjection(u) {
			if !seen[s.Label] {
				seen[s.Label] = true
				out = append(out, Span{0, len(text), s.Label, s.Score})
			}
		}
	}
	return ScanAll(text, spanList(out))
}

func scanInjection(text string) []Span {
	var out []Span
	add := func(re *regexp.Regexp, label string) {
		for _, m := range re.FindAllStringIndex(text, -1) {
			out = append(out, Span{m[0], m[1], label, 1})
		}
	}
	add(overrideRe, LabelOverride)
	add(rolePlayRe, LabelRolePlay)
	add(exfilRe, LabelExfil)
	for _, d := range exfilRefDef.FindAllStringSubmatchIndex(text, -1) {
		ref := text[d[2]:d[3]]
		for _, u := range exfilRefUse.FindAllStringSubmatch(text, -1) {
			if strings.EqualFold(u[1], ref) {
				out = append(out, Span{d[0], d[1], LabelExfil, 1})
				break
			}
		}
	}
	add(zeroWidth, LabelHidden)
	// Unicode tag characters (U+E0000–U+E007F) spell invisible ASCII.
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if r >= 0xE0000 && r <= 0xE007F {
			start := i
			for i < len(text) {
				r, n = utf8.DecodeRuneInString(text[i:])
				if r < 0xE0000 || r > 0xE007F {
					break
				}
				i += n
			}
			out = append(out, Span{start, i, LabelHidden, 1})
			continue
		}
		i += n
	}
	for _, m := range base64Re.FindAllStringIndex(text, -1) {
		tok := text[m[0]:m[1]]
		if dec, ok := decodeBase64(tok); ok && instructionWords.MatchString(dec) {
			out = append(out, Span{m[0], m[1], LabelEncoded, 1})
		}
	}
	if rot := rot13(text); instructionWords.MatchString(rot) && !instructionWords.MatchString(text) {
		for _, m := range instructionWords.FindAllStringIndex(rot, -1) {
			out = append(out, Span{m[0], m[1], LabelEncoded, 0.8})
		}
	}
	return out
}

// Unfold is text as a reader (or a model) takes it in, whatever tricks its
// bytes play: combining marks stacked on letters are dropped ("i\u0301g\u0301n"
// reads "ign"), a run behind a right-to-left override is reversed back to
// the order it is displayed in, and lines of base64 are joined so that a
// payload cut into 16-character lines decodes.
func Unfold(text string) string {
	if isASCII(text) && !strings.Contains(text, "\n") {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	rs := []rune(norm.NFD.String(text))
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == '\u202e' || r == '\u2067': // RLO, RLI: shown reversed up to PDF/PDI
			j := i + 1
			for j < len(rs) && rs[j] != '\u202c' && rs[j] != '\u2069' && rs[j] != '\n' {
				j++
			}
			for k := j - 1; k > i; k-- {
				if !unicode.Is(unicode.Mn, rs[k]) {
					b.WriteRune(rs[k])
				}
			}
			i = j
			continue
		case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			continue
		}
		b.WriteRune(r)
	}
	return joinBase64Lines(norm.NFC.String(b.String()))
}

// joinBase64Lines joins consecutive lines that are nothing but base64
// characters (at least 8 of them).
func joinBase64Lines(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) < 2 {
		return s
	}
	out := lines[:0:0]
	for i := 0; i < len(lines); i++ {
		if !base64Line.MatchString(lines[i]) {
			out = append(out, lines[i])
			continue
		}
		j := i
		var joined strings.Builder
		for j < len(lines) && base64Line.MatchString(lines[j]) {
			joined.WriteString(strings.TrimSpace(lines[j]))
			j++
		}
		out = append(out, joined.String())
		i = j - 1
	}
	return strings.Join(out, "\n")
}

var base64Line = regexp.MustCompile(`^\s*[A-Za-z0-9+/]{8,}={0,2}\s*$`)

func decodeBase64(s string) (string, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil && utf8.Valid(b) && printable(string(b)) {
			return string(b), true
		}
	}
	return "", false
}

func printable(s string) bool {
	n := 0
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' {
			return false
		}
		n++
	}
	return n > 0
}

func rot13(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return 'a' + (r-'a'+13)%26
		case r >= 'A' && r <= 'Z':
			return 'A' + (r-'A'+13)%26
		}
		return r
	}, s)
}

func init() {
	plain("injection", "instruction overrides, personas free of rules, encoded or invisible instructions, markdown exfiltration", Injection{})
}
