package vision_test

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"testing"

	"github.com/sieve-stream/sieve/internal/onnxrt"
	"github.com/sieve-stream/sieve/vision"
)

// benchImages are fixture images, repeated to n.
func benchImages(b *testing.B, n int) []image.Image {
	names := []string{"skin-texture.png", "cartoon.png", "rings.png", "gradient-h.png", "blobs-skin-on-dark.png", "noise-96.png", "checker-37.png", "stripes-diagonal.png"}
	out := make([]image.Image, n)
	for i := range out {
		out[i] = decodeFile(b, filepath.Join("testdata", "images", names[i%len(names)]))
	}
	return out
}

// BenchmarkNSFW: images/s of each nsfwjs model on this machine's CPU, at
// batch 1 and as a micro-batch of 16 (one ONNX Runtime run), preprocessing
// included.
func BenchmarkNSFW(b *testing.B) {
	for _, model := range []string{"mobilenet_v2", "inception_v3"} {
		m, err := vision.LoadNSFW(convertNSFW(b, model), "", onnxrt.Options{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/batch=%d", model, batch), func(b *testing.B) {
				imgs := benchImages(b, batch)
				m.BatchSize = batch
				b.ResetTimer()
				for b.Loop() {
					if _, err := m.ClassifyImages(context.Background(), imgs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
			})
		}
		m.Close()
	}
}

// BenchmarkOCR: images/s of text detection and recognition over rendered
// lines, one image per call against eight (whose crops the recogniser
// runs together).
func BenchmarkOCR(b *testing.B) {
	m := loadOCR(b)
	cases := ocrCases()
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			imgs := make([]image.Image, batch)
			for i := range imgs {
				c := cases[i]
				imgs[i] = Render(b, c.text, c.size, c.dark, c.deg)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := m.Read(context.Background(), imgs, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
