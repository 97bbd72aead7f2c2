// Package tagger holds Sieve's named-entity tagger: a structured averaged
// perceptron over word, shape, affix, context and gazetteer features with
// Viterbi decoding, that finds the personal data without a checksum (names,
// street addresses, places, organisations, dates, ages, nationalities) in
// text. `sieve train --kind tagger` trains it on labelled span files; the
// pii scanner's `entities` option runs it.
package tagger

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Token is a word or one punctuation character, with its byte offsets.
type Token struct {
	Start, End int
	Text       string
}

// Tokenize splits text into words (letters and digits, with inner
// apostrophes, hyphens, periods between digits and letters of an
// abbreviation) and single punctuation characters. Spaces are dropped.
func Tokenize(text string) []Token {
	var out []Token
	i := 0
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		switch {
		case unicode.IsSpace(r):
			i += n
		case wordRune(r):
			start := i
			i += n
			for i < len(text) {
				r2, n2 := utf8.DecodeRuneInString(text[i:])
				if wordRune(r2) {
					i += n2
					continue
				}
				// A clitic is a token of its own: "Maclean's" is a name
				// and "'s", "I'm" is "I" and "'m".
				if (r2 == '\'' || r2 == '’') && clitic(text[i+n2:]) {
					break
				}
				// Joiners inside a word: O'Brien, Jean-Luc, 3.5, 221B.
				if (r2 == '\'' || r2 == '’' || r2 == '-' || r2 == '.') && i+n2 < len(text) {
					r3, _ := utf8.DecodeRuneInString(text[i+n2:])
					prev, _ := utf8.DecodeLastRuneInString(text[:i])
					if wordRune(r3) && (r2 != '.' || (unicode.IsDigit(prev) && unicode.IsDigit(r3))) {
						i += n2
						continue
					}
				}
				break
			}
			out = append(out, Token{start, i, text[start:i]})
		case (r == '\'' || r == '’') && len(out) > 0 && out[len(out)-1].End == i && clitic(text[i+n:]):
			// The clitic after a word: "'s", "'ll".
			start := i
			i += n
			for i < len(text) {
				r2, n2 := utf8.DecodeRuneInString(text[i:])
				if !unicode.IsLetter(r2) {
					break
				}
				i += n2
			}
			out = append(out, Token{start, i, text[start:i]})
		default:
			out = append(out, Token{i, i + n, text[i : i+n]})
			i += n
		}
	}
	return out
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) }

// clitics are English endings after an apostrophe that are words of their
// own: the possessive and the contractions.
var clitics = []string{"s", "t", "re", "ll", "ve", "d", "m"}

// clitic reports whether rest (the text after an apostrophe) starts with
// a clitic that ends the word.
func clitic(rest string) bool {
	j := 0
	for j < len(rest) {
		r, n := utf8.DecodeRuneInString(rest[j:])
		if !unicode.IsLetter(r) {
			break
		}
		j += n
	}
	if j == 0 || j > 2 {
		return false
	}
	w := strings.ToLower(rest[:j])
	return slices.Contains(clitics, w)
}
