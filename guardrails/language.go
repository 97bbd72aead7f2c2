package guardrails

import (
	"errors"
	"slices"
	"strings"
	"unicode"
)

// Language is a rail scanner that flags texts not written in an allowed
// language. It identifies scripts (Cyrillic, Greek, Arabic, Hebrew, CJK,
// Hangul, Devanagari, Thai) by their letters and Latin-script languages by
// their commonest words; a text it cannot place is let through. It is a
// small detector on purpose: a full model (lingua-go embeds about a hundred
// megabytes of n-gram tables) would dwarf the rest of the binary for a check
// that only has to tell "ours" from "not ours".
type Language struct {
	Allow []string // ISO 639-1 codes, as en, de, ru, zh
}

// Name implements Scanner.
func (Language) Name() string { return "language" }

// Labels implements Scanner.
func (Language) Labels() []string { return []string{"language_not_allowed"} }

// Scan implements Scanner.
func (l Language) Scan(text string) []Span {
	lang := DetectLanguage(text)
	if lang == "" {
		// Undecided between Latin-script languages (Spanish, Portuguese
		// and Italian share many words): still not allowed when every
		// language at the top is not, and an allowed one is well behind.
		top, allowedBest := topLatin(text)
		if len(top) == 0 {
			return nil
		}
		for _, t := range top {
			if slices.Contains(l.Allow, t.lang) {
				return nil
			}
		}
		best := top[0].score
		for _, a := range l.Allow {
			allowedBest = max(allowedBest, scoreOf(text, a))
		}
		if best < 3 || allowedBest*2 >= best {
			return nil
		}
		return []Span{{0, len(text), "language_not_allowed", 1}}
	}
	if slices.Contains(l.Allow, lang) {
		return nil
	}
	return []Span{{0, len(text), "language_not_allowed", 1}}
}

type langScore struct {
	lang  string
	score int
}

// topLatin is the Latin-script languages that share the highest stopword
// score of text.
func topLatin(text string) ([]langScore, int) {
	best := 0
	var top []langScore
	for lang := range stopwords {
		sc := scoreOf(text, lang)
		switch {
		case sc > best:
			best, top = sc, []langScore{{lang, sc}}
		case sc == best && sc > 0:
			top = append(top, langScore{lang, sc})
		}
	}
	return top, 0
}

// scoreOf counts text's words that are among lang's commonest, and its
// letters that only lang of the listed ones uses.
func scoreOf(text, lang string) int {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) })
	n := 0
	for _, w := range words {
		if slices.Contains(stopwords[lang], w) {
			n++
		}
	}
	for _, r := range strings.ToLower(text) {
		if strings.ContainsRune(marks[lang], r) {
			n++
		}
	}
	return n
}

// marks are letters (and punctuation) that point to one language.
var marks = map[string]string{"es": "ñ¿¡", "fr": "çœêû", "de": "ßäöü", "pt": "ãõ", "it": "", "nl": "", "en": ""}

var stopwords = map[string][]string{
	"en": strings.Fields("the and is are was to of in that it for you with on this have not but be they at"),
	"de": strings.Fields("der die das und ist nicht ich sie es zu mit den ein eine auf für sich auch dem wir"),
	"fr": strings.Fields("le la les et est des une pas que je vous il pour dans sur du qui avec ce ne"),
	"es": strings.Fields("el la los las y es que de en un una no por con para se lo del al pero muy como más está esto porque gracias usted"),
	"it": strings.Fields("il lo la gli le e è che di un una non per con sono del della si ma anche"),
	"pt": strings.Fields("o a os as e é que de em um uma não para com do da se mas por são você muito isso obrigado"),
	"nl": strings.Fields("de het een en is dat van in niet ik je met op voor zijn maar ook er"),
}

var scripts = []struct {
	lang  string
	table *unicode.RangeTable
}{
	{"ru", unicode.Cyrillic}, {"el", unicode.Greek}, {"ar", unicode.Arabic}, {"he", unicode.Hebrew},
	{"ja", unicode.Hiragana}, {"ja", unicode.Katakana}, {"ko", unicode.Hangul}, {"zh", unicode.Han},
	{"hi", unicode.Devanagari}, {"th", unicode.Thai},
}

// DetectLanguage names a text's language (ISO 639-1), or "" when unsure.
func DetectLanguage(text string) string {
	counts := map[string]int{}
	letters := 0
	for _, r := range text {
		if !unicode.IsLetter(r) {
			continue
		}
		letters++
		for _, s := range scripts {
			if unicode.Is(s.table, r) {
				counts[s.lang]++
				break
			}
		}
	}
	if letters == 0 {
		return ""
	}
	// Japanese writes Han too: any kana makes it Japanese.
	if counts["ja"] > 0 {
		counts["ja"] += counts["zh"]
		delete(counts, "zh")
	}
	best, n := "", 0
	for lang, c := range counts {
		if c > n {
			best, n = lang, c
		}
	}
	if n*2 > letters {
		return best
	}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) })
	if len(words) < 3 {
		return ""
	}
	score := map[string]int{}
	for _, w := range words {
		for lang, sw := range stopwords {
			for _, s := range sw {
				if w == s {
					score[lang]++
				}
			}
		}
	}
	best, n = "", 0
	second := 0
	for lang, c := range score {
		switch {
		case c > n:
			best, second, n = lang, n, c
		case c > second:
			second = c
		}
	}
	if n < 2 || n == second {
		return ""
	}
	return best
}

func init() {
	RegisterScanner(ScannerType{Name: "language", Summary: "text in a language outside allow (ISO 639-1 codes)",
		Params: []string{"allow"}, New: func(c *Check) (Scanner, error) {
			if len(c.Allow) == 0 {
				return nil, errors.New("allow: language needs the allowed languages (ISO 639-1 codes)")
			}
			return Language{Allow: c.Allow}, nil
		}})
}
