// Package linear is Sieve's fast built-in model family, in pure Go:
// fastText-style hashed features (word 1–2-grams and character 3–5-grams of
// the normalised text) under logistic regression, one-vs-rest for binary and
// multi-label models and softmax for multi-class ones, trained
// deterministically from a seed and stored in a small versioned file.
package linear

import (
	"math"

	"github.com/sieve-stream/sieve/classifiers/textnorm"
)

// FNV-1a, seeded per feature kind so that a word and a character n-gram
// with the same bytes land in different buckets.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	seedWord  = fnvOffset ^ 0x77
	seedPair  = fnvOffset ^ 0x62
	seedChar  = fnvOffset ^ 0x63
)

func hashSlice(h uint64, s []byte) uint64 {
	for _, c := range s {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func hashBytes(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// features is reusable scratch for one featurization.
type features struct {
	idx   []uint32
	words []string
	gram  []byte
}

// featurize fills f.idx with the bucket of every feature of text and
// returns the value each feature carries (1/√n, so long texts do not
// dominate the logits).
func (f *features) featurize(text string, dims uint32) float32 {
	return f.featurizeNormalized(textnorm.Normalize(text), dims)
}

// featurizeNormalized is featurize for text already through
// textnorm.Normalize.
func (f *features) featurizeNormalized(norm string, dims uint32) float32 {
	f.idx = f.idx[:0]
	f.words = splitWords(norm, f.words[:0])
	for i, w := range f.words {
		f.idx = append(f.idx, uint32(hashBytes(seedWord, w)%uint64(dims)))
		if i > 0 {
			h := hashBytes(seedPair, f.words[i-1])
			h = hashBytes(h^' ', w)
			f.idx = append(f.idx, uint32(h%uint64(dims)))
		}
		// Character n-grams of "<word>" carry misspellings and unseen
		// inflections.
		f.gram = append(append(append(f.gram[:0], '<'), w...), '>')
		for n := 3; n <= 5; n++ {
			for s := 0; s+n <= len(f.gram); s++ {
				f.idx = append(f.idx, uint32(hashSlice(seedChar^uint64(n), f.gram[s:s+n])%uint64(dims)))
			}
		}
	}
	if len(f.idx) == 0 {
		return 0
	}
	return float32(1 / math.Sqrt(float64(len(f.idx))))
}

// splitWords splits normalised text into words and runs of punctuation, so
// "money!!" gives "money" and "!!".
func splitWords(s string, dst []string) []string {
	start := -1
	kind := 0 // 1 word, 2 punctuation
	flush := func(i int) {
		if start >= 0 {
			dst = append(dst, s[start:i])
		}
		start, kind = -1, 0
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		k := 2
		switch {
		case c == ' ':
			flush(i)
			continue
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c >= 0x80, c == '\'':
			k = 1
		}
		if k != kind {
			flush(i)
			start, kind = i, k
		}
	}
	flush(len(s))
	return dst
}
