package guardrails

import (
	"math"
	"regexp"
)

// Secrets finds credentials: the token formats of cloud providers, code
// hosts, chat tools and payment APIs, private keys, JSON web tokens, and
// other long high-entropy strings.
type Secrets struct {
	// MinEntropy (bits per character) and MinLength gate the generic
	// high-entropy finding; defaults 4.0 and 24.
	MinEntropy float64
	MinLength  int
}

// LabelSecret is the label of every secret span; the format is in the
// span's score detail via SecretKind.
const LabelSecret = "secret"

type secretFormat struct {
	kind string
	re   *regexp.Regexp
}

var secretFormats = []secretFormat{
	{"aws_access_key", regexp.MustCompile(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b`)},
	{"github_token", regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b`)},
	{"gitlab_token", regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{20,}\b`)},
	{"slack_token", regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}\b`)},
	{"slack_webhook", regexp.MustCompile(`https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}`)},
	{"stripe_key", regexp.MustCompile(`\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b`)},
	{"google_api_key", regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`)},
	{"openai_key", regexp.MustCompile(`\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}\b`)},
	{"anthropic_key", regexp.MustCompile(`\bsk-ant-[A-Za-z0-9_-]{20,}\b`)},
	{"private_key", regexp.MustCompile(`-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|$)`)},
	// A URL that carries a user and password (https://user:pass@host/).
	{"url_credentials", regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@[^\s/]+`)},
	{"jwt", regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b`)},
}

var candidateRe = regexp.MustCompile(`[A-Za-z0-9+/_=-]{20,}`)

// Name implements Scanner.
func (Secrets) Name() string { return "secrets" }

// Labels implements Scanner.
func (Secrets) Labels() []string { return []string{LabelSecret} }

// Scan implements Scanner.
func (s Secrets) Scan(text string) []Span {
	minH, minL := s.MinEntropy, s.MinLength
	if minH <= 0 {
		minH = 4.0
	}
	if minL <= 0 {
		minL = 24
	}
	var out []Span
	for _, f := range secretFormats {
		for _, m := range f.re.FindAllStringIndex(text, -1) {
			out = append(out, Span{m[0], m[1], LabelSecret, 1})
		}
	}
	for _, m := range candidateRe.FindAllStringIndex(text, -1) {
		tok := text[m[0]:m[1]]
		need, length := minH, minL
		if isHex(tok) {
			// Sixteen symbols carry at most 4 bits: hex secrets (digests,
			// session ids) are long and about 3.7 bits a character.
			need, length = minH-1, max(minL, 32)
		}
		if len(tok) >= length && hasDigitAndLetter(tok) && entropy(tok) >= need {
			out = append(out, Span{m[0], m[1], LabelSecret, math.Min(1, entropy(tok)/6)})
		}
	}
	return ScanAll(text, spanList(out))
}

// SecretKind names the format of a secret span's text ("high_entropy" when
// only its entropy gave it away).
func SecretKind(s string) string {
	for _, f := range secretFormats {
		if f.re.MatchString(s) {
			return f.kind
		}
	}
	return "high_entropy"
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func hasDigitAndLetter(s string) bool {
	d, l := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		d = d || c >= '0' && c <= '9'
		l = l || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	return d && l
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(s))
			h -= p * math.Log2(p)
		}
	}
	return h
}

func init() {
	plain("secrets", "API keys and tokens of known shapes, private keys, credentials in URLs, high-entropy strings", Secrets{})
}
