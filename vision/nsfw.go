package vision

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/sieve-stream/sieve/internal/onnxrt"
)

// NSFWLabels are nsfwjs's classes, in its output order.
var NSFWLabels = []string{"drawing", "hentai", "neutral", "porn", "sexy"}

// NSFW is an nsfwjs image classifier (MobileNetV2 at 224x224 or
// InceptionV3 at 299x299) converted to ONNX by `sieve convert tfjs`.
// ClassifyImages is safe for concurrent use.
type NSFW struct {
	guard    onnxrt.Guard // a batch runs inside it; Close waits
	session  *ort.DynamicAdvancedSession
	input    string
	output   string
	size     int
	provider string
	// BatchSize caps the images of one ONNX Runtime run; more are split.
	BatchSize int
	// MaxPixels refuses larger images before their pixels are copied.
	MaxPixels int
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("vision: model closed")

// LoadNSFW opens a converted nsfwjs model. lib is libonnxruntime's path
// ("" finds it as onnxrt.Library does).
func LoadNSFW(path, lib string, o onnxrt.Options, log *slog.Logger) (*NSFW, error) {
	lib, err := onnxrt.Init(lib)
	if err != nil {
		return nil, err
	}
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return nil, fmt.Errorf("nsfw model %s: %w", path, err)
	}
	if len(ins) != 1 || len(outs) != 1 {
		return nil, fmt.Errorf("nsfw model %s: want one input and one output, have %d and %d", path, len(ins), len(outs))
	}
	d := ins[0].Dimensions
	if len(d) != 4 || d[1] != d[2] || d[1] <= 0 || d[3] != 3 {
		return nil, fmt.Errorf("nsfw model %s: input %v is not [batch, size, size, 3]", path, d)
	}
	if od := outs[0].Dimensions; len(od) != 2 || od[1] != int64(len(NSFWLabels)) {
		return nil, fmt.Errorf("nsfw model %s: output %v is not [batch, %d]", path, od, len(NSFWLabels))
	}
	opts, provider, err := onnxrt.SessionOptions(o, lib, log)
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	s, err := ort.NewDynamicAdvancedSession(path, []string{ins[0].Name}, []string{outs[0].Name}, opts)
	if err != nil {
		return nil, fmt.Errorf("nsfw model %s: %w", path, err)
	}
	return &NSFW{session: s, input: ins[0].Name, output: outs[0].Name, size: int(d[1]), provider: provider, BatchSize: 16}, nil
}

// Labels implements detectors.ImageClassifier.
func (m *NSFW) Labels() []string { return NSFWLabels }

// Size is the model's input edge in pixels.
func (m *NSFW) Size() int { return m.size }

// Provider is the execution provider the session runs on.
func (m *NSFW) Provider() string { return m.provider }

// Preprocess is nsfwjs's: pixels over 255, then a bilinear resize with
// aligned corners to the model's square input, as HWC float32.
func (m *NSFW) Preprocess(img image.Image) ([]float32, error) {
	return nsfwInput(img, m.size, m.MaxPixels)
}

func nsfwInput(img image.Image, size, maxPixels int) ([]float32, error) {
	w, h, rgb, err := RGB(img, maxPixels)
	if err != nil {
		return nil, err
	}
	f := make([]float32, len(rgb))
	for i, v := range rgb {
		f[i] = float32(v) / 255
	}
	if w == size && h == size {
		return f, nil
	}
	return ResizeBilinear(f, h, w, 3, size, size, true, false), nil
}

// ClassifyImages returns nsfwjs's five class probabilities per image, in
// NSFWLabels order, running the images as one batch (or BatchSize-sized
// batches). An image that cannot be read fails the call; callers that
// want per-image errors preprocess first (Preprocess) and call Run.
func (m *NSFW) ClassifyImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	in := make([][]float32, len(imgs))
	for i, img := range imgs {
		x, err := m.Preprocess(img)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		in[i] = x
	}
	return m.Run(ctx, in)
}

// Run classifies preprocessed images (Preprocess's output).
func (m *NSFW) Run(ctx context.Context, in [][]float32) ([][]float32, error) {
	if !m.guard.Enter() {
		return nil, ErrClosed
	}
	defer m.guard.Exit()
	bs := m.BatchSize
	if bs <= 0 {
		bs = 16
	}
	per := m.size * m.size * 3
	out := make([][]float32, 0, len(in))
	for start := 0; start < len(in); start += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := in[start:min(len(in), start+bs)]
		data := make([]float32, 0, len(chunk)*per)
		for i, x := range chunk {
			if len(x) != per {
				return nil, fmt.Errorf("image %d: %d values, the model takes %d", start+i, len(x), per)
			}
			data = append(data, x...)
		}
		t, err := ort.NewTensor(ort.NewShape(int64(len(chunk)), int64(m.size), int64(m.size), 3), data)
		if err != nil {
			return nil, err
		}
		outs := []ort.Value{nil}
		err = m.session.Run([]ort.Value{t}, outs)
		t.Destroy()
		if err != nil {
			return nil, fmt.Errorf("nsfw model: %w", err)
		}
		probs := outs[0].(*ort.Tensor[float32]).GetData()
		k := len(NSFWLabels)
		for i := range chunk {
			out = append(out, append([]float32(nil), probs[i*k:(i+1)*k]...))
		}
		outs[0].Destroy()
	}
	return out, nil
}

// Close releases the session; a second Close does nothing.
func (m *NSFW) Close() error {
	return m.guard.Close(func() error { return m.session.Destroy() })
}
