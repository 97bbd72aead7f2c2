package vision_test

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/images (then rerun scripts/golden-nsfwjs.js)")

// fixture is one generated test image. The files under testdata/images are
// committed, so that the TF.js golden script and the Go tests read the same
// bytes; -update regenerates them.
type fixture struct {
	name string
	make func() image.Image
}

func solid(w, h int, c color.NRGBA) func() image.Image {
	return func() image.Image {
		m := image.NewNRGBA(image.Rect(0, 0, w, h))
		for i := 0; i < len(m.Pix); i += 4 {
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
		}
		return m
	}
}

func paint(w, h int, f func(x, y int) color.NRGBA) func() image.Image {
	return func() image.Image {
		m := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				m.SetNRGBA(x, y, f(x, y))
			}
		}
		return m
	}
}

func clamp8(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }

func fixtures() []fixture {
	skin := color.NRGBA{224, 172, 140, 255}
	return []fixture{
		{"solid-red.png", solid(32, 32, color.NRGBA{220, 20, 30, 255})},
		{"solid-skin.png", solid(64, 48, skin)},
		{"solid-black.png", solid(40, 40, color.NRGBA{0, 0, 0, 255})},
		{"solid-white.png", solid(40, 40, color.NRGBA{255, 255, 255, 255})},
		{"one-pixel.png", solid(1, 1, color.NRGBA{120, 60, 200, 255})},
		{"two-by-three.png", paint(2, 3, func(x, y int) color.NRGBA { return color.NRGBA{uint8(100 * x), uint8(80 * y), 50, 255} })},
		{"gradient-h.png", paint(300, 200, func(x, y int) color.NRGBA { return color.NRGBA{uint8(x * 255 / 299), 90, uint8(255 - x*255/299), 255} })},
		{"gradient-v.png", paint(180, 320, func(x, y int) color.NRGBA { return color.NRGBA{40, uint8(y * 255 / 319), 160, 255} })},
		{"gradient-skin.png", paint(224, 224, func(x, y int) color.NRGBA {
			t := float64(x+y) / 446
			return color.NRGBA{clamp8(255 - 60*t), clamp8(200 - 90*t), clamp8(170 - 100*t), 255}
		})},
		{"checker-8.png", paint(224, 224, func(x, y int) color.NRGBA {
			if (x/8+y/8)%2 == 0 {
				return color.NRGBA{250, 250, 250, 255}
			}
			return color.NRGBA{10, 10, 10, 255}
		})},
		{"checker-37.png", paint(299, 299, func(x, y int) color.NRGBA {
			if (x/37+y/37)%2 == 0 {
				return color.NRGBA{200, 40, 40, 255}
			}
			return color.NRGBA{30, 60, 200, 255}
		})},
		{"stripes-diagonal.png", paint(256, 160, func(x, y int) color.NRGBA {
			if ((x+y)/12)%2 == 0 {
				return color.NRGBA{240, 200, 30, 255}
			}
			return color.NRGBA{20, 120, 60, 255}
		})},
		{"rings.png", paint(250, 250, func(x, y int) color.NRGBA {
			d := math.Hypot(float64(x-125), float64(y-125))
			v := 0.5 + 0.5*math.Sin(d/6)
			return color.NRGBA{clamp8(255 * v), clamp8(180 * v), clamp8(255 * (1 - v)), 255}
		})},
		{"noise-96.png", func() image.Image {
			r := rand.New(rand.NewPCG(1, 2))
			return paint(96, 96, func(x, y int) color.NRGBA {
				return color.NRGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
			})()
		}},
		{"noise-grey-128x80.png", func() image.Image {
			r := rand.New(rand.NewPCG(3, 4))
			return paint(128, 80, func(x, y int) color.NRGBA {
				v := uint8(r.IntN(256))
				return color.NRGBA{v, v, v, 255}
			})()
		}},
		{"blobs-skin-on-dark.png", paint(240, 300, func(x, y int) color.NRGBA {
			e := math.Pow(float64(x-120)/70, 2) + math.Pow(float64(y-150)/110, 2)
			f := math.Pow(float64(x-60)/30, 2) + math.Pow(float64(y-90)/30, 2)
			if e < 1 || f < 1 {
				s := 1 - 0.3*math.Min(e, f)
				return color.NRGBA{clamp8(float64(skin.R) * s), clamp8(float64(skin.G) * s), clamp8(float64(skin.B) * s), 255}
			}
			return color.NRGBA{30, 25, 35, 255}
		})},
		{"skin-texture.png", func() image.Image {
			r := rand.New(rand.NewPCG(5, 6))
			return paint(200, 200, func(x, y int) color.NRGBA {
				n := r.NormFloat64() * 8
				s := 0.85 + 0.15*math.Sin(float64(x)/17)*math.Cos(float64(y)/23)
				return color.NRGBA{clamp8(230*s + n), clamp8(180*s + n), clamp8(150*s + n), 255}
			})()
		}},
		{"cartoon.png", paint(320, 240, func(x, y int) color.NRGBA {
			switch {
			case math.Hypot(float64(x-160), float64(y-110)) < 70:
				if math.Hypot(float64(x-135), float64(y-95)) < 10 || math.Hypot(float64(x-185), float64(y-95)) < 10 {
					return color.NRGBA{0, 0, 0, 255}
				}
				return color.NRGBA{255, 220, 0, 255}
			case y > 200:
				return color.NRGBA{60, 170, 60, 255}
			default:
				return color.NRGBA{120, 190, 255, 255}
			}
		})},
		{"alpha-gradient.png", paint(120, 90, func(x, y int) color.NRGBA {
			return color.NRGBA{200, uint8(x * 2), 90, uint8(y * 255 / 89)}
		})},
		{"wide-banner.png", paint(640, 64, func(x, y int) color.NRGBA {
			return color.NRGBA{uint8(x % 256), uint8((x / 3) % 256), uint8(y * 4), 255}
		})},
		{"tall-strip.png", paint(48, 400, func(x, y int) color.NRGBA {
			return color.NRGBA{uint8(y % 200), 100, uint8(x * 5), 255}
		})},
		{"rings-q90.jpg", paint(250, 250, func(x, y int) color.NRGBA {
			d := math.Hypot(float64(x-100), float64(y-140))
			v := 0.5 + 0.5*math.Cos(d/9)
			return color.NRGBA{clamp8(255 * v), clamp8(120 + 100*v), clamp8(60 * v), 255}
		})},
		{"skin-q85.jpg", func() image.Image {
			r := rand.New(rand.NewPCG(7, 8))
			return paint(224, 168, func(x, y int) color.NRGBA {
				n := r.NormFloat64() * 5
				s := 0.8 + 0.2*math.Sin(float64(x+y)/29)
				return color.NRGBA{clamp8(225*s + n), clamp8(170*s + n), clamp8(140*s + n), 255}
			})()
		}},
		{"gradient-q75.jpg", paint(300, 225, func(x, y int) color.NRGBA {
			return color.NRGBA{uint8(x * 255 / 299), uint8(y * 255 / 224), 128, 255}
		})},
	}
}

func encodeFixture(name string, m image.Image) ([]byte, error) {
	var b bytes.Buffer
	var err error
	switch filepath.Ext(name) {
	case ".png":
		err = png.Encode(&b, m)
	case ".jpg":
		q := 90
		fmt.Sscanf(name[len(name)-7:], "q%d.jpg", &q)
		err = jpeg.Encode(&b, m, &jpeg.Options{Quality: q})
	}
	return b.Bytes(), err
}

// TestFixtureImages checks that the committed fixtures are the generated
// ones (or, with -update, writes them).
func TestFixtureImages(t *testing.T) {
	dir := filepath.Join("testdata", "images")
	fs := fixtures()
	if len(fs) < 20 {
		t.Fatalf("%d fixtures; the golden needs at least 20", len(fs))
	}
	for _, f := range fs {
		b, err := encodeFixture(f.name, f.make())
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, f.name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		have, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./vision -run TestFixtureImages -update)", err)
		}
		if !bytes.Equal(have, b) {
			t.Errorf("%s differs from its generator: rerun with -update and regenerate the goldens", path)
		}
	}
}
