package signals

import (
	"encoding/binary"
	"hash/fnv"
)

// shingle is the character n-gram length of the MinHash sets: long enough
// that unrelated texts share few, short enough that a typo touches few.
const shingle = 5

// maxSignatureBytes bounds the text a signature reads: campaigns are short
// posts, and a long one is told apart by its start.
const maxSignatureBytes = 160

// signature is the MinHash of a normalised text's character 5-grams, one
// minimum per hash function.
func signature(norm string, k int) []uint64 {
	sig := make([]uint64, k)
	for i := range sig {
		sig[i] = ^uint64(0)
	}
	if len(norm) > maxSignatureBytes {
		norm = norm[:maxSignatureBytes]
	}
	for s := 0; s+shingle <= len(norm); s++ {
		x := uint64(14695981039346656037)
		for j := s; j < s+shingle; j++ {
			x ^= uint64(norm[j])
			x *= 1099511628211
		}
		x = mix(x)
		// Hash i is a·x+b with odd a: one multiply-add per hash keeps the
		// signature affordable, and x is already well mixed.
		for i := range sig {
			if v := x*mults[i] + seeds[i]; v < sig[i] {
				sig[i] = v
			}
		}
	}
	return sig
}

// mix is a 64-bit finaliser (splitmix64): each seed gives an independent
// permutation of the shingle hashes.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

var mults = func() []uint64 {
	s := make([]uint64, 256)
	x := uint64(0xa11ce)
	for i := range s {
		x = mix(x)
		s[i] = x | 1
	}
	return s
}()

var seeds = func() []uint64 {
	s := make([]uint64, 256)
	x := uint64(0x5151)
	for i := range s {
		x = mix(x)
		s[i] = x
	}
	return s
}()

// bandKeys hashes each band of rows minima into a bucket key.
func bandKeys(sig []uint64, bands, rows int) []uint64 {
	out := make([]uint64, bands)
	var buf [8]byte
	for b := range bands {
		h := fnv.New64a()
		binary.LittleEndian.PutUint64(buf[:], uint64(b))
		h.Write(buf[:])
		for r := range rows {
			binary.LittleEndian.PutUint64(buf[:], sig[b*rows+r])
			h.Write(buf[:])
		}
		out[b] = h.Sum64()
	}
	return out
}
