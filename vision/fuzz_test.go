package vision

import (
	"bytes"
	"image"
	"image/color"
	_ "image/jpeg"
	"image/png"
	"math"
	"testing"
)

// FuzzPreprocess feeds arbitrary bytes through everything between an
// image's bytes and the models, and between the detector's map and the
// recogniser: decoding (under a pixel cap), nsfwjs's resize, the
// detector's resize and normalisation, DB's boxes over a map made from the
// image itself, and the straightened crops. None of it may panic, and
// every output must be finite and in bounds.
func FuzzPreprocess(f *testing.F) {
	for _, sz := range [][2]int{{1, 1}, {2, 3}, {40, 17}, {64, 64}} {
		img := image.NewNRGBA(image.Rect(0, 0, sz[0], sz[1]))
		for i := range img.Pix {
			img.Pix[i] = uint8(i * 37)
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		f.Add(b.Bytes())
	}
	f.Add([]byte("\xff\xd8\xff\xe0 not a jpeg"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxPixels = 1 << 18
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxPixels/max(1, cfg.Height) {
			return
		}
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		x, err := nsfwInput(img, 224, maxPixels)
		if err != nil {
			return
		}
		if len(x) != 224*224*3 {
			t.Fatalf("nsfw input has %d values", len(x))
		}
		for _, v := range x {
			if v < 0 || v > 1 || math.IsNaN(float64(v)) {
				t.Fatalf("nsfw input value %v", v)
			}
		}
		p, err := newPicture(img, maxPixels)
		if err != nil {
			t.Fatal(err)
		}
		dw, dh := detSize(p.w, p.h, 256)
		if dw%32 != 0 || dh%32 != 0 || dw < 32 || dh < 32 {
			t.Fatalf("detector size %dx%d", dw, dh)
		}
		resized := ResizeBilinear(p.bgr, p.h, p.w, 3, dh, dw, false, true)
		// A probability map from the image's own brightness.
		prob := make([]float32, dw*dh)
		for i := range prob {
			prob[i] = resized[3*i+1] / 255
		}
		var o OCROptions
		o.ensureDefaults()
		for _, q := range dbBoxes(prob, dw, dh, o) {
			for _, pt := range q.pts {
				if math.IsNaN(pt[0]) || math.IsNaN(pt[1]) {
					t.Fatalf("box corner %v", pt)
				}
			}
			in, w, gaps := recInput(p, q)
			if w < recMinWidth || len(in) != 3*recHeight*w {
				t.Fatalf("crop of width %d has %d values", w, len(in))
			}
			for _, g := range gaps {
				if g.from < 0 || g.to > w || g.from >= g.to {
					t.Fatalf("gap %v in a crop of width %d", g, w)
				}
			}
		}
	})
}

func TestRGBStraightAlpha(t *testing.T) {
	// Half-transparent red stays red: the model sees straight colour, as
	// pngjs and tf.browser.fromPixels give it.
	img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	img.SetNRGBA(0, 0, color.NRGBA{200, 10, 20, 128})
	_, _, rgb, err := RGB(img, 0)
	if err != nil || rgb[0] != 200 || rgb[1] != 10 || rgb[2] != 20 {
		t.Fatalf("rgb %v, %v", rgb, err)
	}
	if _, _, _, err := RGB(image.NewNRGBA(image.Rect(0, 0, 0, 5)), 0); err == nil {
		t.Error("an empty image was read")
	}
	if _, _, _, err := RGB(image.NewNRGBA(image.Rect(0, 0, 100, 100)), 50); err == nil {
		t.Error("an image over the pixel cap was read")
	}
}

func TestResizeBilinearAlignCorners(t *testing.T) {
	// 2x2 -> 3x3 with aligned corners: corners kept, centre the mean.
	src := []float32{0, 10, 20, 30}
	got := ResizeBilinear(src, 2, 2, 1, 3, 3, true, false)
	want := []float32{0, 5, 10, 10, 15, 20, 20, 25, 30}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
