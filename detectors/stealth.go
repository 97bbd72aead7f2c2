package detectors

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"image"
	"io"
)

// defaultMaxPixels bounds every pixel decode; a header claiming more is
// refused before any pixel buffer is allocated.
const defaultMaxPixels = 40_000_000

// pngHasAlpha reports a PNG whose IHDR colour type carries alpha (4 or 6).
// Only those are searched for stealth pnginfo: the writer's default is
// alpha, and decoding every photo's pixels to look for the rare RGB
// variant would cost more than all the metadata checks together.
func pngHasAlpha(data []byte) bool {
	return bytes.HasPrefix(data, pngMagic) && len(data) >= 26 && (data[25] == 4 || data[25] == 6)
}

// readStealth decodes AUTOMATIC1111's "stealth pnginfo": the generation
// parameters hidden in the least significant bits of the alpha channel
// (or of R, G, B for the rgb variants), read column by column. The bit
// stream is a 15-byte magic, a 32-bit big-endian bit count, then the
// parameters, gzip-compressed for the "comp" variants.
func readStealth(img image.Image, maxText int) (string, error) {
	nrgba, ok := img.(*image.NRGBA)
	hasAlpha := ok
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	// Bit reader over the chosen channels, column-major.
	var bits []byte
	read := func(n int, alpha bool) ([]byte, bool) {
		bits = bits[:0]
		per := 1
		if !alpha {
			per = 3
		}
		need := n
		for x := 0; x < w && need > 0; x++ {
			for y := 0; y < h && need > 0; y++ {
				var px [4]byte
				if nrgba != nil {
					o := nrgba.PixOffset(b.Min.X+x, b.Min.Y+y)
					copy(px[:], nrgba.Pix[o:o+4])
				} else {
					r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
					px = [4]byte{byte(r >> 8), byte(g >> 8), byte(bl >> 8), byte(a >> 8)}
				}
				if alpha {
					bits = append(bits, px[3]&1)
					need--
				} else {
					for c := 0; c < per && need > 0; c++ {
						bits = append(bits, px[c]&1)
						need--
					}
				}
			}
		}
		return bits, need == 0
	}
	pack := func(bs []byte) []byte {
		out := make([]byte, len(bs)/8)
		for i := range out {
			for j := 0; j < 8; j++ {
				out[i] = out[i]<<1 | bs[i*8+j]
			}
		}
		return out
	}
	for _, alpha := range []bool{true, false} {
		if alpha && !hasAlpha {
			continue
		}
		head, ok := read((15+4)*8, alpha)
		if !ok {
			continue
		}
		hb := pack(head)
		magic := string(hb[:15])
		var compressed bool
		switch magic {
		case "stealth_pnginfo", "stealth_rgbinfo":
		case "stealth_pngcomp", "stealth_rgbcomp":
			compressed = true
		default:
			continue
		}
		nbits := int(uint32(hb[15])<<24 | uint32(hb[16])<<16 | uint32(hb[17])<<8 | uint32(hb[18]))
		if nbits <= 0 || nbits/8 > maxText || nbits%8 != 0 {
			return "", fmt.Errorf("stealth payload of %d bits", nbits)
		}
		all, ok := read((15+4)*8+nbits, alpha)
		if !ok {
			return "", fmt.Errorf("stealth payload of %d bits does not fit the image", nbits)
		}
		payload := pack(all[(15+4)*8:])
		if !compressed {
			return latin1(payload), nil
		}
		zr, err := gzip.NewReader(bytes.NewReader(payload))
		if err != nil {
			return "", err
		}
		out, err := io.ReadAll(io.LimitReader(zr, int64(maxText)+1))
		if err != nil {
			return "", err
		}
		if len(out) > maxText {
			return "", fmt.Errorf("stealth payload inflates past %d bytes", maxText)
		}
		return string(out), nil
	}
	return "", nil
}

// ErrTooManyPixels is returned, before decoding, for images whose header
// claims more pixels than allowed: the decompression-bomb guard.
var ErrTooManyPixels = fmt.Errorf("image has too many pixels")

func checkPixels(w, h, max int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("image is %dx%d", w, h)
	}
	if int64(w)*int64(h) > int64(max) {
		return fmt.Errorf("%w: %dx%d is over %d", ErrTooManyPixels, w, h, max)
	}
	return nil
}
