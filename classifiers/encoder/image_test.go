package encoder

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sieve-stream/sieve/classifiers/onnxmodel"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/detectors"
	"github.com/sieve-stream/sieve/pipeline"
)

// writeColourModel writes an image classifier whose scores a test can
// compute: the mean of each channel, then logits red = R−B, blue = B−R.
func writeColourModel(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	g := onnxmodel.Graph{Name: "colour",
		Initializers: []onnxmodel.Tensor{
			{Name: "w", Dims: []int64{3, 2}, Type: onnxmodel.Float, Floats: []float32{1, -1, 0, 0, -1, 1}},
			{Name: "b", Dims: []int64{2}, Type: onnxmodel.Float, Floats: []float32{0, 0}},
		},
		Nodes: []onnxmodel.Node{
			{Op: "ReduceMean", Inputs: []string{"pixel_values"}, Outputs: []string{"m"}, Attrs: []onnxmodel.Attr{{Name: "axes", Ints: []int64{2, 3}}, {Name: "keepdims", Int: onnxmodel.Int(0)}}},
			{Op: "MatMul", Inputs: []string{"m", "w"}, Outputs: []string{"z"}},
			{Op: "Add", Inputs: []string{"z", "b"}, Outputs: []string{"logits"}},
		},
		Inputs:  []onnxmodel.Value{{Name: "pixel_values", Type: onnxmodel.Float, Dims: []int64{-1, 3, 8, 8}, DimNames: []string{"batch"}}},
		Outputs: []onnxmodel.Value{{Name: "logits", Type: onnxmodel.Float, Dims: []int64{-1, 2}, DimNames: []string{"batch"}}},
	}
	files := map[string]string{
		"config.json":              `{"id2label": {"0": "red", "1": "blue"}}`,
		"preprocessor_config.json": `{"do_normalize": false, "rescale_factor": 0.00392156862745098, "size": {"height": 8, "width": 8}}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "model.onnx"), g.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func loadColourModel(t *testing.T) *ImageModel {
	t.Helper()
	if _, err := Library(""); err != nil {
		t.Skipf("ONNX Runtime not installed (run ./scripts/test-deps.sh): %v", err)
	}
	m, err := LoadImageModel(writeColourModel(t), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func solid(w, h int, c color.NRGBA) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func TestImageModel(t *testing.T) {
	m := loadColourModel(t)
	imgs := []image.Image{
		solid(32, 20, color.NRGBA{255, 0, 0, 255}),
		solid(5, 7, color.NRGBA{0, 0, 255, 255}),
		solid(16, 16, color.NRGBA{128, 30, 64, 255}),
	}
	got, err := m.ClassifyImages(context.Background(), imgs)
	if err != nil {
		t.Fatal(err)
	}
	// Solid images survive any resize unchanged, so the logits are the
	// channel means: softmax([R−B, B−R]).
	for i, c := range []color.NRGBA{{255, 0, 0, 255}, {0, 0, 255, 255}, {128, 30, 64, 255}} {
		d := float64(c.R)/255 - float64(c.B)/255
		want := 1 / (1 + math.Exp(-2*d))
		if math.Abs(float64(got[i][0])-want) > 1e-4 || math.Abs(float64(got[i][1])-(1-want)) > 1e-4 {
			t.Errorf("image %d: scores %v, want [%.4f %.4f]", i, got[i], want, 1-want)
		}
	}
	if l := m.Labels(); len(l) != 2 || l[0] != "red" || l[1] != "blue" {
		t.Errorf("labels %v", l)
	}
}

// The model in the media detectors' learned slot, end to end: a message
// with a red and a blue PNG gets a "red" finding for the first only.
func TestImageModelInDetectorStage(t *testing.T) {
	m := loadColourModel(t)
	enc := func(c color.NRGBA) string {
		var buf bytes.Buffer
		if err := png.Encode(&buf, solid(24, 24, c)); err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(buf.Bytes())
	}
	it := &pipeline.Item{Msg: &contract.Message{Media: []contract.Media{{Data: enc(color.NRGBA{250, 10, 10, 255})}, {Data: enc(color.NRGBA{10, 10, 250, 255})}}}}
	st := &detectors.Stage{Learned: m, LearnedPositive: []string{"red"}, LearnedThreshold: 0.8}
	if err := st.Process(context.Background(), []*pipeline.Item{it}); err != nil {
		t.Fatal(err)
	}
	if len(it.Findings) != 1 || it.Findings[0].Detector != "learned" || it.Findings[0].Signal != "red" || *it.Findings[0].Media != 0 {
		t.Errorf("findings %+v", it.Findings)
	}
	if it.Signals["media_red"] != 1 {
		t.Errorf("signals %v", it.Signals)
	}
}
