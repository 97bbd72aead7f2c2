package detectors

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkMetadata is the metadata path (container walk, XMP, EXIF, C2PA
// JUMBF and CBOR, generator text, stealth pnginfo) over every fixture in
// turn; images/s is per image.
func BenchmarkMetadata(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "*", "*.*"))
	more, _ := filepath.Glob(filepath.Join(fixtures, "*", "*", "*.*"))
	var imgs [][]byte
	total := 0
	for _, p := range append(files, more...) {
		if filepath.Ext(p) == ".md" {
			continue
		}
		d, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		imgs = append(imgs, d)
		total += len(d)
	}
	if len(imgs) == 0 {
		b.Skip("media fixtures not available beside the repo")
	}
	b.SetBytes(int64(total / len(imgs)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Inspect(imgs[i%len(imgs)], Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkWatermark is the pixel path: decode the image and read the
// dwtDct watermark against every known payload.
func BenchmarkWatermark(b *testing.B) {
	for _, f := range []string{"c2pa/earth_apollo17.jpg", "c2pa/sample1.png"} {
		data := fixture(b, f)
		b.Run(filepath.Base(f), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				img, err := decodePixels(data, defaultMaxPixels, nil)
				if err != nil {
					b.Fatal(err)
				}
				DecodeWatermarks(img)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
