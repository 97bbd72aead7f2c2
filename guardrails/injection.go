package guardrails

import (
	"encoding/base64"
	"regexp"
	"strings"
	"unicode/utf8"
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
	overrideRe = regexp.MustCompile(`(?i)\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+)?(?:previous|prior|above|earlier|preceding|original|system|safety)?\s*(?:instructions?|rules|prompts?|guidelines|directions|context|restrictions|filters)\b|(?i)\b(?:reveal|print|show|repeat|output)\s+(?:your|the)\s+(?:system\s+prompt|instructions|hidden\s+prompt|initial\s+prompt)\b|(?i)\bnew\s+instructions\s*:`)
	rolePlayRe = regexp.MustCompile(`(?i)\b(?:you\s+are\s+now|from\s+now\s+on,?\s+you|pretend\s+(?:to\s+be|you\s+are)|act\s+as\s+(?:an?\s+)?(?:unfiltered|uncensored|evil|jailbroken)|developer\s+mode|do\s+anything\s+now|\bDAN\b|you\s+are\s+no\s+longer\s+bound|without\s+any\s+(?:restrictions|filters|limitations))`)
	base64Re   = regexp.MustCompile(`[A-Za-z0-9+/]{24,}={0,2}`)
	exfilRe    = regexp.MustCompile(`!\[[^\]]*\]\(\s*https?://[^)\s]+\?[^)\s]*=[^)\s]*\)`)
	zeroWidth  = regexp.MustCompile("[\u200b\u200c\u200d\u2060\ufeff]{3,}")
	// Words that make decoded or rotated text an instruction.
	instructionWords = regexp.MustCompile(`(?i)\b(?:ignore|instructions?|system prompt|pretend|disregard|password|secret|jailbreak|bypass)\b`)
)

// Scan implements Scanner.
func (Injection) Scan(text string) []Span {
	var out []Span
	add := func(re *regexp.Regexp, label string) {
		for _, m := range re.FindAllStringIndex(text, -1) {
			out = append(out, Span{m[0], m[1], label, 1})
		}
	}
	add(overrideRe, LabelOverride)
	add(rolePlayRe, LabelRolePlay)
	add(exfilRe, LabelExfil)
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
	return ScanAll(text, spanList(out))
}

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
