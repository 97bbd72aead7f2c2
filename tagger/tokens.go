// Package tagger holds Sieve's named-entity tagger: a structured averaged
// perceptron over word, shape, affix, context and gazetteer features with
// Viterbi decoding, that finds the personal data without a checksum (names,
// street addresses, places, organisations, dates, ages, nationalities) in
// text. `sieve train --kind tagger` trains it on labelled span files; the
// pii scanner's `entities` option runs it.
package tagger

import (
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
		default:
			out = append(out, Token{i, i + n, text[i : i+n]})
			i += n
		}
	}
	return out
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) }
