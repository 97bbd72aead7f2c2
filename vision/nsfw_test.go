package vision_test

import (
	"bufio"
	"context"
	"encoding/json"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sieve-stream/sieve/internal/onnxrt"
	"github.com/sieve-stream/sieve/vision"
	"github.com/sieve-stream/sieve/vision/tfjs"
)

// repoCache is the repository's .cache folder, from this package.
const repoCache = "../.cache"

type golden struct {
	Model string    `json:"model"`
	Image string    `json:"image"`
	Probs []float64 `json:"probs"`
}

func readGolden(t *testing.T) map[string][]golden {
	f, err := os.Open(filepath.Join("testdata", "nsfwjs.golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]golden{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var g golden
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		out[g.Model] = append(out[g.Model], g)
	}
	return out
}

func decodeFile(t testing.TB, path string) image.Image {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// convertNSFW converts nsfwjs's TF.js model from the npm package into a
// temporary ONNX file, or skips when the package is not installed.
func convertNSFW(t testing.TB, model string) string {
	t.Helper()
	if _, err := onnxrt.Library(""); err != nil {
		t.Skipf("ONNX Runtime is not installed here (run ./scripts/test-deps.sh): %v", err)
	}
	dir := filepath.Join(repoCache, "npm", "nsfwjs", "dist", "models", model)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("nsfwjs is not installed here (run ./scripts/vision-models.sh): %v", err)
	}
	m, err := tfjs.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tfjs.Convert(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), model+".onnx")
	if err := os.WriteFile(path, c.ONNX, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConverterMatchesNSFWJS: the converted models under ONNX Runtime give
// nsfwjs's own probabilities (TF.js, CPU backend) for every fixture image,
// within 1e-3 per class, with the images run as one micro-batch.
func TestConverterMatchesNSFWJS(t *testing.T) {
	goldens := readGolden(t)
	for _, model := range []string{"mobilenet_v2", "inception_v3"} {
		t.Run(model, func(t *testing.T) {
			if model == "inception_v3" && testing.Short() {
				t.Skip("InceptionV3 over 24 images: the full (not -short) run checks it")
			}
			gs := goldens[model]
			if len(gs) < 20 {
				t.Fatalf("%d golden images for %s; the acceptance needs 20", len(gs), model)
			}
			m, err := vision.LoadNSFW(convertNSFW(t, model), "", onnxrt.Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			// The converter is what is measured: a JPEG fixture is fed as
			// jpeg-js decoded it for TF.js (JPEG decoders differ by a level
			// or two; TestJPEGDecoderDrift reports what that costs).
			imgs := make([]image.Image, len(gs))
			for i, g := range gs {
				path := filepath.Join("testdata", "images", g.Image)
				if filepath.Ext(g.Image) == ".jpg" {
					path = filepath.Join("testdata", "jpeg-js", g.Image+".png")
				}
				imgs[i] = decodeFile(t, path)
			}
			got, err := m.ClassifyImages(context.Background(), imgs)
			if err != nil {
				t.Fatal(err)
			}
			worst, at := 0.0, ""
			for i, g := range gs {
				for k, want := range g.Probs {
					d := math.Abs(float64(got[i][k]) - want)
					if d > worst {
						worst, at = d, g.Image+"/"+vision.NSFWLabels[k]
					}
					if d > 1e-3 {
						t.Errorf("%s %s %s: onnx %.6f, nsfwjs %.6f", model, g.Image, vision.NSFWLabels[k], got[i][k], want)
					}
				}
			}
			t.Logf("%s: %d images, largest difference %.2e (%s)", model, len(gs), worst, at)
		})
	}
}

// TestJPEGDecoderDrift reports how far Go's JPEG decoder (the one the media
// stage uses) moves nsfwjs's probabilities from jpeg-js's pixels: not the
// converter's error, and bounded loosely.
func TestJPEGDecoderDrift(t *testing.T) {
	goldens := readGolden(t)
	m, err := vision.LoadNSFW(convertNSFW(t, "mobilenet_v2"), "", onnxrt.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, g := range goldens["mobilenet_v2"] {
		if filepath.Ext(g.Image) != ".jpg" {
			continue
		}
		goImg := decodeFile(t, filepath.Join("testdata", "images", g.Image))
		jsImg := decodeFile(t, filepath.Join("testdata", "jpeg-js", g.Image+".png"))
		_, _, a, err := vision.RGB(goImg, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _, b, _ := vision.RGB(jsImg, 0)
		maxLevel := 0
		for i := range a {
			maxLevel = max(maxLevel, abs(int(a[i])-int(b[i])))
		}
		got, err := m.ClassifyImages(context.Background(), []image.Image{goImg})
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for k, want := range g.Probs {
			worst = max(worst, math.Abs(float64(got[0][k])-want))
		}
		t.Logf("%s: Go's decoder differs from jpeg-js by up to %d levels; probabilities by up to %.4f", g.Image, maxLevel, worst)
		if worst > 0.05 {
			t.Errorf("%s: Go's JPEG decoding moves a probability by %.4f", g.Image, worst)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
