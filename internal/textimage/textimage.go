// Package textimage renders text into images with Go's own fonts, for the
// OCR tests and the media examples: pictures whose text is known exactly.
package textimage

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/f64"
	"golang.org/x/image/math/fixed"
)

// Style is how the text is drawn.
type Style struct {
	Size float64 // pixels per em
	Bold bool    // Go Bold instead of Go Regular
	// FG and BG are the text and background colours (default near-black
	// on off-white).
	FG, BG color.Color
	// Background, when set, is drawn under the text instead of BG (a
	// meme's picture); the canvas is its size and the text is centred on
	// it.
	Background image.Image
	// Degrees turns the finished picture about its centre.
	Degrees float64
}

// Render draws text (lines split at "\n") in style s.
func Render(text string, s Style) (image.Image, error) {
	ttf := goregular.TTF
	if s.Bold {
		ttf = gobold.TTF
	}
	f, err := opentype.Parse(ttf)
	if err != nil {
		return nil, err
	}
	if s.Size <= 0 {
		s.Size = 24
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: s.Size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, err
	}
	defer face.Close()
	if s.FG == nil {
		s.FG = color.NRGBA{20, 20, 30, 255}
	}
	if s.BG == nil {
		s.BG = color.NRGBA{250, 248, 240, 255}
	}
	lines := strings.Split(text, "\n")
	adv := 0
	for _, l := range lines {
		adv = max(adv, font.MeasureString(face, l).Ceil())
	}
	m := face.Metrics()
	lh := (m.Ascent + m.Descent).Ceil() + int(s.Size/3)
	pad := int(s.Size)
	w, h := adv+2*pad, lh*len(lines)+2*pad
	x0, y0 := pad, pad
	var img *image.NRGBA
	if s.Background != nil {
		b := s.Background.Bounds()
		w, h = max(w, b.Dx()), max(h, b.Dy())
		img = image.NewNRGBA(image.Rect(0, 0, w, h))
		draw.Draw(img, img.Bounds(), &image.Uniform{s.BG}, image.Point{}, draw.Src)
		draw.Draw(img, b.Sub(b.Min), s.Background, b.Min, draw.Src)
		x0, y0 = (w-adv)/2, (h-lh*len(lines))/2
	} else {
		img = image.NewNRGBA(image.Rect(0, 0, w, h))
		draw.Draw(img, img.Bounds(), &image.Uniform{s.BG}, image.Point{}, draw.Src)
	}
	d := &font.Drawer{Dst: img, Src: &image.Uniform{s.FG}, Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(x0, y0+i*lh+m.Ascent.Ceil())
		d.DrawString(l)
	}
	if s.Degrees == 0 {
		return img, nil
	}
	// Turn about the centre onto a canvas large enough for the corners.
	rad := s.Degrees * math.Pi / 180
	c, sn := math.Cos(rad), math.Sin(rad)
	nw := int(math.Ceil(math.Abs(float64(w)*c) + math.Abs(float64(h)*sn)))
	nh := int(math.Ceil(math.Abs(float64(w)*sn) + math.Abs(float64(h)*c)))
	out := image.NewNRGBA(image.Rect(0, 0, nw, nh))
	draw.Draw(out, out.Bounds(), &image.Uniform{s.BG}, image.Point{}, draw.Src)
	cx, cy, ncx, ncy := float64(w)/2, float64(h)/2, float64(nw)/2, float64(nh)/2
	aff := f64.Aff3{c, -sn, ncx - c*cx + sn*cy, sn, c, ncy - sn*cx - c*cy}
	xdraw.BiLinear.Transform(out, aff, img, img.Bounds(), draw.Over, nil)
	return out, nil
}
