package vision

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
)

// ErrTooSmall is returned for an image with no pixels.
var ErrTooSmall = errors.New("image has no pixels")

// RGB returns an image's pixels as straight (not premultiplied) 8-bit RGB,
// row by row, dropping alpha: what tf.browser.fromPixels gives a model
// and what PaddleOCR reads. maxPixels (>0) refuses larger images.
func RGB(img image.Image, maxPixels int) (w, h int, rgb []uint8, err error) {
	if img == nil {
		return 0, 0, nil, ErrTooSmall
	}
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return 0, 0, nil, ErrTooSmall
	}
	if maxPixels > 0 && w > maxPixels/h {
		return 0, 0, nil, fmt.Errorf("image of %dx%d pixels is over the %d-pixel cap", w, h, maxPixels)
	}
	rgb = make([]uint8, 3*w*h)
	switch m := img.(type) {
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[(y)*m.Stride : (y)*m.Stride+4*w]
			for x := range w {
				copy(rgb[3*(y*w+x):], row[4*x:4*x+3])
			}
		}
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				o := 3 * (y*w + x)
				rgb[o], rgb[o+1], rgb[o+2] = r, g, bl
			}
		}
	default:
		for y := range h {
			for x := range w {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				o := 3 * (y*w + x)
				rgb[o], rgb[o+1], rgb[o+2] = c.R, c.G, c.B
			}
		}
	}
	return w, h, rgb, nil
}

// ResizeBilinear resizes an HWC float32 image (c channels) to nh x nw the
// way TensorFlow's ResizeBilinear does (tf.image.resizeBilinear in
// TF.js's CPU backend): with alignCorners the corner pixels of input and
// output coincide; with halfPixel, pixel centres do. The arithmetic is in
// float64 on float32 inputs, as JavaScript computes it, so that the result
// matches TF.js to the last bit in most pixels.
func ResizeBilinear(src []float32, h, w, c, nh, nw int, alignCorners, halfPixel bool) []float32 {
	out := make([]float32, nh*nw*c)
	effIn := [2]float64{float64(h), float64(w)}
	effOut := [2]float64{float64(nh), float64(nw)}
	if alignCorners && nh > 1 {
		effIn[0], effOut[0] = float64(h-1), float64(nh-1)
	}
	if alignCorners && nw > 1 {
		effIn[1], effOut[1] = float64(w-1), float64(nw-1)
	}
	rowRatio, colRatio := effIn[0]/effOut[0], effIn[1]/effOut[1]
	// Column taps are the same for every row.
	type tap struct {
		lo, hi int
		frac   float64
	}
	cols := make([]tap, nw)
	for x := range nw {
		f := colRatio * float64(x)
		if halfPixel {
			f = colRatio*(float64(x)+0.5) - 0.5
		}
		lo := max(0, int(math.Floor(f)))
		cols[x] = tap{lo, min(w-1, int(math.Ceil(f))), f - float64(lo)}
	}
	o := 0
	for y := range nh {
		f := rowRatio * float64(y)
		if halfPixel {
			f = rowRatio*(float64(y)+0.5) - 0.5
		}
		lo := max(0, int(math.Floor(f)))
		hi := min(h-1, int(math.Ceil(f)))
		rf := f - float64(lo)
		top, bot := src[lo*w*c:], src[hi*w*c:]
		for _, t := range cols {
			for ch := range c {
				tl, tr := float64(top[t.lo*c+ch]), float64(top[t.hi*c+ch])
				bl, br := float64(bot[t.lo*c+ch]), float64(bot[t.hi*c+ch])
				tv := tl + (tr-tl)*t.frac
				bv := bl + (br-bl)*t.frac
				out[o] = float32(tv + (bv-tv)*rf)
				o++
			}
		}
	}
	return out
}
