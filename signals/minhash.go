package signals

// shingle is the character n-gram length of the MinHash sets: long enough
// that unrelated texts share few, short enough that a typo touches few.
const shingle = 5

// maxSignatureBytes bounds the text a signature reads: campaigns are short
// posts, and a long one is told apart by its start.
const maxSignatureBytes = 160

// maxSignature bounds bands × rows: there are this many hash functions.
const maxSignature = 256

// signature fills sig with the MinHash of a normalised text's character
// 5-grams, one minimum per hash function.
//
// The loops run hash by hash over all the shingles, not shingle by shingle
// over all the hashes: each minimum then stays in a register, four
// independent running minima keep the multipliers busy, and the compiler
// turns min into a conditional move. That is the same signature at a
// fraction of the cost (issue 19: the shingle-major loop was a fifth of the
// default pipeline's CPU).
func signature(norm string, sig []uint64) {
	if len(norm) > maxSignatureBytes {
		norm = norm[:maxSignatureBytes]
	}
	var buf [maxSignatureBytes]uint64
	xs := buf[:0]
	for s := 0; s+shingle <= len(norm); s++ {
		x := uint64(14695981039346656037)
		for j := s; j < s+shingle; j++ {
			x ^= uint64(norm[j])
			x *= 1099511628211
		}
		xs = append(xs, mix(x))
	}
	mults, seeds := mults[:len(sig)], seeds[:len(sig)]
	for i := range sig {
		// Hash i is a·x+b with odd a: one multiply-add per hash keeps the
		// signature affordable, and x is already well mixed.
		a, b := mults[i], seeds[i]
		m0, m1, m2, m3 := ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)
		rest := xs
		for len(rest) >= 4 {
			m0 = min(m0, rest[0]*a+b)
			m1 = min(m1, rest[1]*a+b)
			m2 = min(m2, rest[2]*a+b)
			m3 = min(m3, rest[3]*a+b)
			rest = rest[4:]
		}
		for _, x := range rest {
			m0 = min(m0, x*a+b)
		}
		sig[i] = min(m0, m1, m2, m3)
	}
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
	s := make([]uint64, maxSignature)
	x := uint64(0xa11ce)
	for i := range s {
		x = mix(x)
		s[i] = x | 1
	}
	return s
}()

var seeds = func() []uint64 {
	s := make([]uint64, maxSignature)
	x := uint64(0x5151)
	for i := range s {
		x = mix(x)
		s[i] = x
	}
	return s
}()

// bandKeys appends to dst the bucket key of each band of rows minima: FNV-1a
// of the band's number and its minima, little-endian.
func bandKeys(dst, sig []uint64, bands, rows int) []uint64 {
	for b := range bands {
		h := fnvWord(fnvOffset, uint64(b))
		for r := range rows {
			h = fnvWord(h, sig[b*rows+r])
		}
		dst = append(dst, h)
	}
	return dst
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvWord is FNV-1a over the 8 little-endian bytes of w.
func fnvWord(h, w uint64) uint64 {
	for range 8 {
		h ^= w & 0xff
		h *= fnvPrime
		w >>= 8
	}
	return h
}
