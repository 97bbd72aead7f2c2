package detectors

import (
	"image"
	"image/color"
	"math"
)

// Payload is a known invisible-watermark message.
type Payload struct {
	Name string
	Bits []uint8
	// Threshold is the bit agreement at or above which the image counts as
	// marked. Unmarked photos agree with a payload by chance, near 0.5; the
	// thresholds sit where a binomial(n, 0.5) tail is below 1e-6 and above
	// the most any unmarked fixture photo reached (0.652, TestUnmarked...).
	Threshold float64
}

func bytesToBits(b []byte) []uint8 {
	out := make([]uint8, 0, len(b)*8)
	for _, c := range b {
		for i := 7; i >= 0; i-- {
			out = append(out, c>>uint(i)&1)
		}
	}
	return out
}

// binaryLiteralBits mirrors Python's [int(b) for b in bin(x)[2:]], the way
// the SDXL and Stability reference code turn their message into bits:
// leading zeros are dropped, so a "48-bit" message may be shorter.
func binaryLiteralBits(x uint64) []uint8 {
	var out []uint8
	started := false
	for i := 63; i >= 0; i-- {
		b := uint8(x >> uint(i) & 1)
		if b == 1 {
			started = true
		}
		if started {
			out = append(out, b)
		}
	}
	return out
}

// Payloads are the public watermarks of open image generators, all
// embedded with invisible-watermark's dwtDct method.
var Payloads = []Payload{
	// Stable Diffusion 1.x/2.x reference scripts: the bytes
	// "StableDiffusionV1", 136 bits.
	{Name: "stable_diffusion_v1", Bits: bytesToBits([]byte("StableDiffusionV1")), Threshold: 0.75},
	// SDXL in diffusers: 0xB3EC907BB19E, 48 bits.
	{Name: "sdxl", Bits: binaryLiteralBits(0b101100111110110010010000011110111011000110011110), Threshold: 0.9},
	// Stability's generative-models (SDXL, SVD reference code): 46 bits
	// once bin() drops the two leading zeros.
	{Name: "stability_generative_models", Bits: binaryLiteralBits(0b001010101111111010000111100111001111010100101110), Threshold: 0.9},
}

// wmScale and wmBlock are invisible-watermark's dwtDct defaults: the
// largest non-DC coefficient of each 4×4 block of the U channel's Haar LL
// band is quantised to step 36, its remainder below or above half a step
// carrying a 0 or a 1.
const (
	wmScale = 36.0
	wmBlock = 4
)

// WatermarkResult is one payload's bit agreement with what an image holds.
type WatermarkResult struct {
	Payload string `json:"payload"`
	// Agreement is the share of the payload's bits that the reference
	// decoder's majority vote recovers; unmarked images score near 0.5.
	Agreement float64 `json:"agreement"`
	// Contrast is the mean block reading where the payload has a 1 minus
	// where it has a 0. The embedding is lopsided: lowering the largest
	// coefficient to write a 0 often lets a neighbour overtake it, so 0s
	// read back barely better than chance while 1s read back almost
	// always. Contrast uses every block instead of a vote per bit, so it
	// separates marked from unmarked images where Agreement cannot.
	Contrast float64 `json:"contrast"`
	Marked   bool    `json:"marked"`
}

// ContrastThreshold decides Marked; unmarked photos stay within ±0.05
// (README), marked images without attack score 0.4 and more.
const ContrastThreshold = 0.15

// uPlane computes OpenCV's 8-bit BGR→YUV U channel over the top-left
// region whose sides are multiples of 4, as the reference code crops.
func uPlane(img image.Image) (u []float64, w, h int) {
	b := img.Bounds()
	w, h = b.Dx()/4*4, b.Dy()/4*4
	u = make([]float64, w*h)
	uOf := func(R, G, B float64) float64 {
		Y := 0.299*R + 0.587*G + 0.114*B
		return clamp8(math.Round(0.492*(B-Y) + 128))
	}
	// The decoders' own pixel types are read directly: going through
	// image.At costs an interface call and an allocation per pixel.
	switch m := img.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				u[y*w+x] = uOf(float64(r), float64(g), float64(bl))
			}
		}
	case *image.NRGBA:
		rgbRows(u, w, h, m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), uOf)
	case *image.RGBA:
		rgbRows(u, w, h, m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), uOf)
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				u[y*w+x] = uOf(float64(r>>8), float64(g>>8), float64(bl>>8))
			}
		}
	}
	return u, w, h
}

// rgbRows reads 4-byte RGB(A) pixels; alpha is ignored, as OpenCV's
// three-channel read of the same file would.
func rgbRows(u []float64, w, h int, pix []byte, stride, start int, uOf func(R, G, B float64) float64) {
	for y := 0; y < h; y++ {
		row := pix[start+y*stride:]
		for x := 0; x < w; x++ {
			p := row[4*x : 4*x+3]
			u[y*w+x] = uOf(float64(p[0]), float64(p[1]), float64(p[2]))
		}
	}
}

func clamp8(v float64) float64 { return math.Max(0, math.Min(255, v)) }

// blockScores returns, in the reference's row-major block order, each LL
// block's bit reading (0 or 1).
func blockScores(u []float64, w, h int) []uint8 {
	lw, lh := w/2, h/2
	ll := make([]float64, lw*lh)
	for y := 0; y < lh; y++ {
		for x := 0; x < lw; x++ {
			i := 2*y*w + 2*x
			ll[y*lw+x] = (u[i] + u[i+1] + u[i+w] + u[i+w+1]) / 2
		}
	}
	var out []uint8
	for by := 0; by+wmBlock <= lh; by += wmBlock {
		for bx := 0; bx+wmBlock <= lw; bx += wmBlock {
			_, v := maxCoeff(ll, lw, bx, by)
			v = math.Abs(v)
			if math.Mod(v, wmScale) > 0.5*wmScale {
				out = append(out, 1)
			} else {
				out = append(out, 0)
			}
		}
	}
	return out
}

// maxCoeff finds the block's largest-magnitude coefficient other than the
// first (numpy argmax: the first on ties).
func maxCoeff(ll []float64, lw, bx, by int) (int, float64) {
	best, bestAbs, bestVal := -1, -1.0, 0.0
	for k := 1; k < wmBlock*wmBlock; k++ {
		v := ll[(by+k/wmBlock)*lw+bx+k%wmBlock]
		if a := math.Abs(v); a > bestAbs {
			best, bestAbs, bestVal = (by+k/wmBlock)*lw+bx+k%wmBlock, a, v
		}
	}
	return best, bestVal
}

// DecodeWatermarks reads the dwtDct watermark and compares it with every
// known payload. Images smaller than one 8×8 pixel block give nil.
func DecodeWatermarks(img image.Image) []WatermarkResult {
	u, w, h := uPlane(img)
	scores := blockScores(u, w, h)
	if len(scores) == 0 {
		return nil
	}
	var out []WatermarkResult
	for _, p := range Payloads {
		n := len(p.Bits)
		sum := make([]float64, n)
		cnt := make([]float64, n)
		for i, s := range scores {
			sum[i%n] += float64(s)
			cnt[i%n]++
		}
		var ones, zeros, nOnes, nZeros float64
		for i, s := range scores {
			if p.Bits[i%n] == 1 {
				ones += float64(s)
				nOnes++
			} else {
				zeros += float64(s)
				nZeros++
			}
		}
		contrast := 0.0
		if nOnes > 0 && nZeros > 0 {
			contrast = ones/nOnes - zeros/nZeros
		}
		agree := 0
		for i := range p.Bits {
			if cnt[i] == 0 {
				continue
			}
			bit := uint8(0)
			if sum[i]/cnt[i]*255 > 127 {
				bit = 1
			}
			if bit == p.Bits[i] {
				agree++
			}
		}
		a := float64(agree) / float64(n)
		out = append(out, WatermarkResult{Payload: p.Name, Agreement: a, Contrast: contrast,
			Marked: a >= p.Threshold || contrast >= ContrastThreshold})
	}
	return out
}
