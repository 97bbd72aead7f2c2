package encoder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sync"

	"github.com/sieve-stream/sieve/internal/onnxrt"
	ort "github.com/yalue/onnxruntime_go"
)

// ImageModel runs a Hugging Face image-classification export (model.onnx,
// config.json with id2label, preprocessor_config.json) on ONNX Runtime:
// the learned-detector slot of the media detectors, for users who bring an
// "AI-generated or not" model. Nothing here is trained by Sieve.
type ImageModel struct {
	guard   onnxrt.Guard // a batch runs inside it; Close waits
	session *ort.DynamicAdvancedSession
	input   string
	output  string
	labels  []string
	softmax bool
	width   int
	height  int
	mean    [3]float32
	std     [3]float32
	rescale float32
	mu      sync.Mutex
}

type preprocessorConfig struct {
	ImageMean     []float32 `json:"image_mean"`
	ImageStd      []float32 `json:"image_std"`
	RescaleFactor *float32  `json:"rescale_factor"`
	DoNormalize   *bool     `json:"do_normalize"`
	Size          struct {
		Height       int `json:"height"`
		Width        int `json:"width"`
		ShortestEdge int `json:"shortest_edge"`
	} `json:"size"`
	CropSize struct {
		Height int `json:"height"`
		Width  int `json:"width"`
	} `json:"crop_size"`
}

// LoadImageModel opens an image-classification model directory. lib is the
// ONNX Runtime library ("" finds it as Load does); opts choose the
// execution provider and threads.
func LoadImageModel(dir, lib string, opts ...onnxrt.Options) (*ImageModel, error) {
	lib, err := onnxrt.Init(lib)
	if err != nil {
		return nil, err
	}
	hc, labels, err := readHFConfig(dir)
	if err != nil {
		return nil, err
	}
	m := &ImageModel{labels: labels, softmax: hc.ProblemType != "multi_label_classification",
		mean: [3]float32{0.5, 0.5, 0.5}, std: [3]float32{0.5, 0.5, 0.5}, rescale: 1.0 / 255, width: 224, height: 224}
	if raw, err := os.ReadFile(filepath.Join(dir, "preprocessor_config.json")); err == nil {
		var pc preprocessorConfig
		if err := json.Unmarshal(raw, &pc); err != nil {
			return nil, fmt.Errorf("image model %s: preprocessor_config.json: %w", dir, err)
		}
		if len(pc.ImageMean) == 3 && len(pc.ImageStd) == 3 {
			copy(m.mean[:], pc.ImageMean)
			copy(m.std[:], pc.ImageStd)
		}
		if pc.DoNormalize != nil && !*pc.DoNormalize {
			m.mean, m.std = [3]float32{0, 0, 0}, [3]float32{1, 1, 1}
		}
		if pc.RescaleFactor != nil {
			m.rescale = *pc.RescaleFactor
		}
		switch {
		case pc.CropSize.Height > 0 && pc.CropSize.Width > 0:
			m.height, m.width = pc.CropSize.Height, pc.CropSize.Width
		case pc.Size.Height > 0 && pc.Size.Width > 0:
			m.height, m.width = pc.Size.Height, pc.Size.Width
		case pc.Size.ShortestEdge > 0:
			m.height, m.width = pc.Size.ShortestEdge, pc.Size.ShortestEdge
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("image model %s: %w", dir, err)
	}
	modelPath := filepath.Join(dir, "model.onnx")
	ins, outs, err := ort.GetInputOutputInfo(modelPath)
	if err != nil {
		return nil, fmt.Errorf("image model %s: %w", modelPath, err)
	}
	if len(ins) != 1 || len(outs) == 0 {
		return nil, fmt.Errorf("image model %s: want one input (pixel_values) and an output, have %d and %d", modelPath, len(ins), len(outs))
	}
	m.input, m.output = ins[0].Name, outs[0].Name
	for _, o := range outs {
		if o.Name == "logits" {
			m.output = o.Name
		}
	}
	var o onnxrt.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	so, _, err := onnxrt.SessionOptions(o, lib, nil)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	s, err := ort.NewDynamicAdvancedSession(modelPath, []string{m.input}, []string{m.output}, so)
	if err != nil {
		return nil, fmt.Errorf("image model %s: %w", modelPath, err)
	}
	m.session = s
	return m, nil
}

// Labels are the model's labels in output order.
func (m *ImageModel) Labels() []string { return m.labels }

// Close releases the session; a second Close does nothing.
func (m *ImageModel) Close() error {
	return m.guard.Close(func() error { return m.session.Destroy() })
}

// ClassifyImages scores each image: resized to the model's input size
// (bilinear), rescaled and normalised as preprocessor_config.json says,
// laid out [batch, 3, height, width].
func (m *ImageModel) ClassifyImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	if !m.guard.Enter() {
		return nil, ErrClosed
	}
	defer m.guard.Exit()
	if len(imgs) == 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, w := m.height, m.width
	data := make([]float32, len(imgs)*3*h*w)
	for n, img := range imgs {
		m.pixels(img, data[n*3*h*w:(n+1)*3*h*w])
	}
	in, err := ort.NewTensor(ort.NewShape(int64(len(imgs)), 3, int64(h), int64(w)), data)
	if err != nil {
		return nil, err
	}
	defer in.Destroy()
	m.mu.Lock()
	outputs := []ort.Value{nil}
	err = m.session.Run([]ort.Value{in}, outputs)
	m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("onnx run: %w", err)
	}
	defer outputs[0].Destroy()
	t, ok := outputs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("onnx output %s is not float32", m.output)
	}
	if s := t.GetShape(); len(s) != 2 || s[0] != int64(len(imgs)) || s[1] != int64(len(m.labels)) {
		return nil, fmt.Errorf("onnx output %s has shape %v, want [%d %d]", m.output, s, len(imgs), len(m.labels))
	}
	z := t.GetData()
	act := &Encoder{softmax: m.softmax}
	out := make([][]float32, len(imgs))
	for i := range out {
		out[i] = act.activate(z[i*len(m.labels) : (i+1)*len(m.labels)])
	}
	return out, nil
}

// pixels writes one image, channel-major, into dst.
func (m *ImageModel) pixels(img image.Image, dst []float32) {
	b := img.Bounds()
	h, w := m.height, m.width
	sx, sy := float64(b.Dx())/float64(w), float64(b.Dy())/float64(h)
	at := func(x, y int) [3]float32 {
		x = min(max(x, 0), b.Dx()-1)
		y = min(max(y, 0), b.Dy()-1)
		r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
		return [3]float32{float32(r >> 8), float32(g >> 8), float32(bl >> 8)}
	}
	for y := 0; y < h; y++ {
		fy := (float64(y)+0.5)*sy - 0.5
		y0 := int(fy)
		if fy < 0 {
			y0 = -1
		}
		wy := float32(fy - float64(y0))
		for x := 0; x < w; x++ {
			fx := (float64(x)+0.5)*sx - 0.5
			x0 := int(fx)
			if fx < 0 {
				x0 = -1
			}
			wx := float32(fx - float64(x0))
			p00, p01, p10, p11 := at(x0, y0), at(x0+1, y0), at(x0, y0+1), at(x0+1, y0+1)
			for c := 0; c < 3; c++ {
				v := (p00[c]*(1-wx)+p01[c]*wx)*(1-wy) + (p10[c]*(1-wx)+p11[c]*wx)*wy
				dst[c*h*w+y*w+x] = (v*m.rescale - m.mean[c]) / m.std[c]
			}
		}
	}
}
