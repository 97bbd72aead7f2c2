// Package textnorm folds adversarial spellings back to plain text before a
// model sees it: Unicode NFKC, invisible characters removed, homoglyphs and
// leetspeak folded to Latin letters, letter floods shortened, and URLs,
// e-mail addresses, mentions and numbers replaced by placeholders. Every
// Sieve model featurizes the normalised text; verdicts keep the original.
package textnorm

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Placeholders stand in for spans whose exact value does not matter to a
// classifier but whose presence does.
const (
	URL     = "xurlx"
	Email   = "xemailx"
	Mention = "xuserx"
	Number  = "xnumx"
)

// confusables maps look-alike letters of other scripts to the Latin letter
// they imitate (the common subset of Unicode's confusables.txt for Latin).
var confusables = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't',
	'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'һ': 'h', 'ӏ': 'l', 'ɡ': 'g',
	'А': 'a', 'В': 'b', 'Е': 'e', 'К': 'k', 'М': 'm', 'Н': 'h', 'О': 'o', 'Р': 'p', 'С': 'c', 'Т': 't', 'У': 'y',
	'Х': 'x', 'І': 'i', 'Ј': 'j', 'Ѕ': 's',
	// Greek
	'α': 'a', 'β': 'b', 'ε': 'e', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x',
	'Α': 'a', 'Β': 'b', 'Ε': 'e', 'Ζ': 'z', 'Η': 'h', 'Ι': 'i', 'Κ': 'k', 'Μ': 'm', 'Ν': 'n', 'Ο': 'o', 'Ρ': 'p',
	'Τ': 't', 'Υ': 'y', 'Χ': 'x',
	// Latin look-alikes outside ASCII that NFKC keeps
	'ı': 'i', 'ł': 'l', 'ø': 'o', 'đ': 'd', 'ħ': 'h', 'ŀ': 'l', 'ß': 's',
}

// leet maps digits and symbols used as letters inside words.
var leet = map[rune]rune{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', '$': 's', '!': 'i', '|': 'l', '8': 'b'}

// invisible reports characters that render as nothing: zero-width spaces and
// joiners, the BOM, soft hyphens, bidi controls, Unicode tag characters and
// variation selectors.
func invisible(r rune) bool {
	switch {
	case r == '\u00ad', r == '\u034f', r == '\u061c', r == '\u115f', r == '\u1160', r == '\u17b4', r == '\u17b5', r == '\u180e':
		return true
	case r >= '\u200b' && r <= '\u200f', r >= '\u202a' && r <= '\u202e', r >= '\u2060' && r <= '\u206f', r == '\ufeff':
		return true
	case r >= '\ufe00' && r <= '\ufe0f', r >= 0xe0000 && r <= 0xe007f, r >= 0xe0100 && r <= 0xe01ef:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// Normalize returns the folded, lower-cased form of s.
func Normalize(s string) string {
	if isPlainASCII(s) {
		return foldTokens(s)
	}
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if invisible(r) {
			continue
		}
		if c, ok := confusables[r]; ok {
			r = c
		}
		// Strip combining marks left after NFKC ("é" stays one rune; a
		// stacked "e\u0301\u0301" loses its marks).
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(r)
	}
	return foldTokens(b.String())
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldTokens lower-cases, replaces URLs, e-mails, mentions and numbers with
// placeholders, undoes leetspeak inside words, and shortens letter floods.
func foldTokens(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	toks := strings.Fields(s)
	for i := 0; i < len(toks); i++ {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		// Words spelled out letter by letter ("s t u p i d") are read as
		// one word: three or more single letters in a row.
		if j := letterRun(toks, i); j-i >= 3 {
			b.WriteString(foldToken(strings.Join(toks[i:j], "")))
			i = j - 1
			continue
		}
		b.WriteString(foldToken(toks[i]))
	}
	return b.String()
}

// letterRun returns the end of the run of single-letter tokens from i.
func letterRun(toks []string, i int) int {
	j := i
	for j < len(toks) && len(toks[j]) == 1 && isLetter(toks[j][0]) {
		j++
	}
	return j
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// undot reads a word spelled with dots between its letters ("i.d.i.o.t")
// as the word; abbreviations ("e.g.", "u.s.a.") lose their dots too, which
// changes nothing a model reads.
func undot(tok string) string {
	if len(tok) < 3 || len(tok)%2 == 0 {
		return tok
	}
	for i := 0; i < len(tok); i++ {
		if (i%2 == 0 && !isLetter(tok[i])) || (i%2 == 1 && tok[i] != '.') {
			return tok
		}
	}
	return strings.ReplaceAll(tok, ".", "")
}

func foldToken(tok string) string {
	low := strings.ToLower(tok)
	switch {
	case strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://") || strings.HasPrefix(low, "www.") || looksLikeDomain(low):
		return URL
	case strings.IndexByte(low, '@') > 0 && strings.IndexByte(low[strings.IndexByte(low, '@'):], '.') > 0:
		return Email
	case len(low) > 1 && low[0] == '@':
		return Mention
	}
	// Split off leading and trailing punctuation so "free!!!" keeps "!!!"
	// apart from the word.
	start, end := 0, len(low)
	for start < end && isEdgePunct(low[start]) {
		start++
	}
	for end > start && isEdgePunct(low[end-1]) {
		end--
	}
	core := low[start:end]
	folded := core
	switch {
	case core == "":
	case isNumber(core):
		folded = Number
	default:
		folded = squeeze(unleet(unmask(undot(core))))
	}
	if folded == core && len(low)-end <= 2 {
		return low // most words: nothing to fold, nothing to build
	}
	var out strings.Builder
	out.WriteString(low[:start])
	out.WriteString(folded)
	out.WriteString(squeezePunct(low[end:]))
	return out.String()
}

func isEdgePunct(c byte) bool {
	return c < utf8.RuneSelf && (c == '.' || c == ',' || c == '!' || c == '?' || c == ';' || c == ':' || c == '"' ||
		c == '\'' || c == '(' || c == ')' || c == '[' || c == ']' || c == '*' || c == '-' || c == '_' || c == '~')
}

func isNumber(s string) bool {
	digits := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case strings.ContainsRune(".,%$£€+-:/", c):
		default:
			return false
		}
	}
	return digits > 0
}

var tlds = []string{".com", ".net", ".org", ".io", ".co", ".ly", ".info", ".biz", ".ru", ".xyz", ".uk", ".de", ".me"}

func looksLikeDomain(s string) bool {
	s = strings.TrimRight(s, ".,!?)")
	if strings.ContainsAny(s, "@ ") || strings.Count(s, ".") == 0 {
		return false
	}
	host := s
	if i := strings.IndexByte(s, '/'); i > 0 {
		host = s[:i]
	}
	for _, t := range tlds {
		if strings.HasSuffix(host, t) && len(host) > len(t)+1 {
			return true
		}
	}
	return false
}

// unleet maps digits and symbols to letters inside a word that has letters,
// so "fr33" becomes "free" but "2024" stays a number.
func unleet(w string) string {
	if asciiWithout(w, func(i int) bool { return isLeet(w[i]) }) {
		return w // unleetRunes would rebuild it as it is
	}
	return unleetRunes(w)
}

func unleetRunes(w string) string {
	letters := 0
	for _, r := range w {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	if letters == 0 {
		return w
	}
	var b strings.Builder
	b.Grow(len(w))
	for _, r := range w {
		if c, ok := leet[r]; ok {
			r = c
		}
		b.WriteRune(r)
	}
	return b.String()
}

// squeeze shortens runs of three or more equal letters to one: "moneyyyy"
// becomes "money", while "good" keeps its double o.
func squeeze(w string) string {
	if asciiWithout(w, func(i int) bool { return i+2 < len(w) && w[i] == w[i+1] && w[i] == w[i+2] }) {
		return w // no run of three: squeezeRunes would rebuild it as it is
	}
	return squeezeRunes(w)
}

func squeezeRunes(w string) string {
	var b strings.Builder
	b.Grow(len(w))
	var prev rune = -1
	run := 0
	runes := []rune(w)
	for i, r := range runes {
		if r == prev {
			run++
		} else {
			prev, run = r, 1
		}
		// Look ahead: write a letter of a run only if the run stays short.
		if run == 1 {
			n := 1
			for j := i + 1; j < len(runes) && runes[j] == r; j++ {
				n++
			}
			if n >= 3 {
				b.WriteRune(r)
				continue
			}
		} else if run > 2 || (run == 2 && countRun(runes, i-1) >= 3) {
			continue
		}
		if run <= 2 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func countRun(runes []rune, start int) int {
	n := 0
	for j := start; j < len(runes) && runes[j] == runes[start]; j++ {
		n++
	}
	return n
}

// asciiWithout reports whether s is ASCII and at(i) is false at every
// index: then a rune-by-rune rewrite that changes nothing can be skipped
// (on other bytes it would turn invalid UTF-8 into U+FFFD).
func asciiWithout(s string, at func(i int) bool) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || at(i) {
			return false
		}
	}
	return true
}

// isLeet reports a byte unleet maps (leet's ASCII keys).
func isLeet(c byte) bool {
	switch c {
	case '0', '1', '3', '4', '5', '7', '@', '$', '!', '|', '8':
		return true
	}
	return false
}

// squeezePunct keeps at most two of a repeated punctuation mark.
func squeezePunct(p string) string {
	if len(p) <= 2 {
		return p
	}
	return p[:2]
}

// masked are the words people write with asterisks for some letters
// ("f*ck", "sh**"); unmask reads them as the word, whatever its suffix.
var masked = []string{"fuck", "shit", "bitch", "cunt", "dick", "cock", "pussy", "whore", "slut", "bastard",
	"asshole", "damn", "nigger", "nigga", "faggot", "fag", "retard", "twat", "wanker", "motherfucker"}

func unmask(core string) string {
	if strings.IndexByte(core, '*') < 0 && strings.IndexByte(core, '#') < 0 {
		return core
	}
	for _, w := range masked {
		if len(core) < len(w) {
			continue
		}
		ok, stars := true, 0
		for i := 0; i < len(w); i++ {
			switch c := core[i]; {
			case c == '*' || c == '#':
				stars++
			case c != w[i]:
				ok = false
			}
			if !ok {
				break
			}
		}
		// The rest must be a plain suffix ("ing", "s", "ed").
		if ok && stars > 0 && stars < len(w) && !strings.ContainsAny(core[len(w):], "*#") {
			return w + core[len(w):]
		}
	}
	return core
}
