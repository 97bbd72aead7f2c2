package detectors

import (
	"image"
	"image/color"
	"math"
)

// embedWatermark is an encoder written from the published dwtDct
// description, independent of the decoder: U channel, Haar LL band, the
// largest non-DC coefficient of each 4×4 block moved to
// (⌊|v|/36⌋ + 0.25 + 0.5·bit)·36 with its sign kept. Changing one LL
// coefficient by δ moves each of its four pixels by δ/2 (the inverse Haar
// step); the U change goes back to RGB through B (and G through Y).
func embedWatermark(src image.Image, bits []uint8) *image.NRGBA {
	b := src.Bounds()
	W, H := b.Dx(), b.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, W, H))
	type yuv struct{ y, u, v float64 }
	px := make([]yuv, W*H)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			r, g, bl, _ := src.At(b.Min.X+x, b.Min.Y+y).RGBA()
			R, G, B := float64(r>>8), float64(g>>8), float64(bl>>8)
			Y := 0.299*R + 0.587*G + 0.114*B
			px[y*W+x] = yuv{Y, math.Round(0.492*(B-Y) + 128), 0.877*(R-Y) + 128}
		}
	}
	w, h := W/4*4, H/4*4
	lw, lh := w/2, h/2
	ll := make([]float64, lw*lh)
	for y := 0; y < lh; y++ {
		for x := 0; x < lw; x++ {
			ll[y*lw+x] = (px[2*y*W+2*x].u + px[2*y*W+2*x+1].u + px[(2*y+1)*W+2*x].u + px[(2*y+1)*W+2*x+1].u) / 2
		}
	}
	num := 0
	for by := 0; by+4 <= lh; by += 4 {
		for bx := 0; bx+4 <= lw; bx += 4 {
			bit := float64(bits[num%len(bits)])
			num++
			best, bestAbs := 0, -1.0
			for k := 1; k < 16; k++ {
				i := (by+k/4)*lw + bx + k%4
				if a := math.Abs(ll[i]); a > bestAbs {
					best, bestAbs = i, a
				}
			}
			v := ll[best]
			nv := (math.Floor(math.Abs(v)/36) + 0.25 + 0.5*bit) * 36
			if v < 0 {
				nv = -nv
			}
			d := (nv - v) / 2
			y, x := best/lw, best%lw
			for _, p := range []int{2*y*W + 2*x, 2*y*W + 2*x + 1, (2*y+1)*W + 2*x, (2*y+1)*W + 2*x + 1} {
				px[p].u += d
			}
		}
	}
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			p := px[y*W+x]
			R := p.y + (p.v-128)/0.877
			B := p.y + (p.u-128)/0.492
			G := (p.y - 0.299*R - 0.114*B) / 0.587
			out.SetNRGBA(x, y, color.NRGBA{c8(R), c8(G), c8(B), 255})
		}
	}
	return out
}

func c8(v float64) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(v)))) }
