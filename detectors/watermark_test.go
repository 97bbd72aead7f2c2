package detectors

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

func decodeFixture(t testing.TB, name string) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(fixture(t, name)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img
}

var photos = []string{"c2pa/sample1.png", "c2pa/earth_apollo17.jpg", "c2pa/no_manifest.jpg", "c2pa/C.jpg", "c2pa/CA.jpg", "c2pa/ocsp.jpg"}

func result(rs []WatermarkResult, payload string) WatermarkResult {
	for _, r := range rs {
		if r.Payload == payload {
			return r
		}
	}
	return WatermarkResult{}
}

func TestUnmarkedPhotosDoNotMatch(t *testing.T) {
	for _, f := range photos {
		for _, r := range DecodeWatermarks(decodeFixture(t, f)) {
			t.Logf("%s %s: agreement %.3f contrast %+.3f", f, r.Payload, r.Agreement, r.Contrast)
			if r.Marked {
				t.Errorf("%s: unmarked photo matched %s (%.3f)", f, r.Payload, r.Agreement)
			}
		}
	}
}

func jpegRoundTrip(t testing.TB, img image.Image, q int) image.Image {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func brighten(img image.Image, d int) image.Image {
	b := img.Bounds()
	out := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			f := func(v uint32) uint8 { return uint8(min(255, max(0, int(v>>8)+d))) }
			out.SetNRGBA(x, y, color.NRGBA{f(r), f(g), f(bl), 255})
		}
	}
	return out
}

// resize scales by nearest neighbour to the given size.
func resize(img image.Image, w, h int) image.Image {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			out.Set(x, y, img.At(b.Min.X+x*b.Dx()/w, b.Min.Y+y*b.Dy()/h))
		}
	}
	return out
}

func TestWatermarkRoundTripAndRobustness(t *testing.T) {
	for _, p := range Payloads {
		for _, f := range []string{"c2pa/sample1.png", "c2pa/earth_apollo17.jpg"} {
			src := decodeFixture(t, f)
			marked := embedWatermark(src, p.Bits)
			b := marked.Bounds()
			attacks := []struct {
				name    string
				img     image.Image
				require bool // must still be detected
			}{
				{"none (PNG)", marked, true},
				{"jpeg q95", jpegRoundTrip(t, marked, 95), true},
				{"jpeg q90", jpegRoundTrip(t, marked, 90), false},
				{"jpeg q75", jpegRoundTrip(t, marked, 75), false},
				{"brightness +10", brighten(marked, 10), true},
				{"resize 0.5x", resize(marked, b.Dx()/2, b.Dy()/2), false},
				{"resize 1.5x", resize(marked, b.Dx()*3/2, b.Dy()*3/2), false},
			}
			for _, a := range attacks {
				r := result(DecodeWatermarks(a.img), p.Name)
				t.Logf("%s %s %s: agreement %.3f contrast %+.3f marked %v", p.Name, f, a.name, r.Agreement, r.Contrast, r.Marked)
				if a.require && !r.Marked {
					t.Errorf("%s in %s after %s: agreement %.3f, not detected", p.Name, f, a.name, r.Agreement)
				}
			}
			// The other payloads must not light up on this image.
			for _, r := range DecodeWatermarks(marked) {
				if r.Payload != p.Name && r.Marked {
					t.Errorf("%s embedded, %s reported (%.3f)", p.Name, r.Payload, r.Agreement)
				}
			}
		}
	}
}

func TestInspectorReportsWatermark(t *testing.T) {
	marked := embedWatermark(decodeFixture(t, "c2pa/earth_apollo17.jpg"), Payloads[0].Bits)
	var buf bytes.Buffer
	if err := png.Encode(&buf, marked); err != nil {
		t.Fatal(err)
	}
	r, err := (&Inspector{Watermark: true}).Inspect(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	fs := r.Findings(0)
	if len(fs) != 1 || fs[0].Signal != "invisible_watermark" || !strings.Contains(fs[0].Detail, "stable_diffusion_v1") {
		t.Errorf("findings %+v", fs)
	}
	// The original photo has no watermark finding.
	r, err = (&Inspector{Watermark: true}).Inspect(fixture(t, "c2pa/earth_apollo17.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if fs := r.Findings(0); len(fs) != 0 || len(r.Watermarks) != len(Payloads) {
		t.Errorf("unmarked photo: findings %+v, %d results", fs, len(r.Watermarks))
	}
}
