package signals

import (
	"encoding/binary"
	"hash/fnv"
)

// refSignature and refBandKeys are the campaign signature as it was before
// issue 19, with the same hash functions: the shingle-major loop that
// updated every minimum in memory per shingle, and band keys through
// hash/fnv. The faster code is checked against them.
func refSignature(norm string, k int) []uint64 {
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
		for i := range sig {
			if v := x*mults[i] + seeds[i]; v < sig[i] {
				sig[i] = v
			}
		}
	}
	return sig
}

func refBandKeys(sig []uint64, bands, rows int) []uint64 {
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
