// Package linear is Sieve's fast built-in model family, in pure Go:
// fastText-style hashed features (word 1–2-grams and character 3–5-grams of
// the normalised text) under logistic regression, one-vs-rest for binary and
// multi-label models and softmax for multi-class ones, trained
// deterministically from a seed and stored in a small versioned file.
package linear

import (
	"math"

	"github.com/sieve-stream/sieve/internal/textnorm"
)

// FNV-1a, seeded per feature kind so that a word and a character n-gram
// with the same bytes land in different buckets.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	seedWord  = fnvOffset ^ 0x77
	seedPair  = fnvOffset ^ 0x62
	seedChar  = fnvOffset ^ 0x63
	seedNeg   = fnvOffset ^ 0x6e
	seedWho   = fnvOffset ^ 0x70
)

// Scopes of the context features: how far back a negation or a personal
// pronoun still colours a word.
const (
	negScope = 3
	whoScope = 4
)

// person classes a pronoun: 1 for the speaker (i, me, my), 2 for the one
// spoken to (you, your, u), 3 for others (he, she, they, them); 0 for a
// word that is none. "You are worthless" and "I am worthless" share every
// n-gram that matters but mean harassment and despair.
func person(w string) byte {
	switch w {
	case "i", "me", "my", "myself", "mine", "im", "i'm", "i'll", "i've", "i'd":
		return 1
	case "you", "your", "yours", "yourself", "u", "ur", "you're", "youre", "ya", "you'll", "y'all", "yall":
		return 2
	case "he", "she", "they", "them", "his", "her", "their", "him", "himself", "herself", "themselves":
		return 3
	}
	return 0
}

func negation(w string) bool {
	switch w {
	case "not", "no", "never", "don't", "dont", "doesn't", "didn't", "isn't", "wasn't", "aren't", "won't", "can't",
		"cannot", "wouldn't", "shouldn't", "nobody", "nothing", "neither", "nor", "without", "hardly", "n't", "ain't":
		return true
	}
	return false
}

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
	// ends[i] is where word i's features end in idx. Word i's features are
	// its unigram, then (for i > 0) the bigram with word i-1, then its
	// character n-grams: the windows of a long text are scored from them.
	ends []int
	// context adds the context features (see person and negation).
	context bool
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
	f.ends = f.ends[:0]
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
		if !f.context {
			f.ends = append(f.ends, len(f.idx))
			continue
		}
		// Context features: the word as read under a recent negation, and
		// as read after the nearest recent personal pronoun.
		var who byte
		neg := false
		for j := i - 1; j >= 0 && j >= i-whoScope; j-- {
			if who == 0 {
				who = person(f.words[j])
			}
			if j >= i-negScope && negation(f.words[j]) {
				neg = true
			}
		}
		if neg {
			f.idx = append(f.idx, uint32(hashBytes(seedNeg, w)%uint64(dims)))
		}
		if who != 0 {
			f.idx = append(f.idx, uint32(hashBytes(seedWho^uint64(who), w)%uint64(dims)))
		}
		f.ends = append(f.ends, len(f.idx))
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
