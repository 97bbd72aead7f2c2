// Package tfjs reads TensorFlow.js layers models (a Keras topology plus a
// weights manifest, as model.json and .bin shards, or as the browserified
// .min.js bundles nsfwjs ships) and converts them to ONNX, so that their
// pretrained weights run on ONNX Runtime like every other Sieve model.
package tfjs

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Model is a TF.js layers model: its Keras topology and its weights,
// dequantised to float32, by name.
type Model struct {
	Format   string
	Topology json.RawMessage // modelTopology: {keras_version, model_config}
	Weights  map[string]Weight
}

// Weight is one dequantised weight tensor in its Keras layout.
type Weight struct {
	Shape []int
	Data  []float32
}

type manifestGroup struct {
	Paths   []string     `json:"paths"`
	Weights []weightSpec `json:"weights"`
}

type weightSpec struct {
	Name         string `json:"name"`
	Shape        []int  `json:"shape"`
	DType        string `json:"dtype"`
	Quantization *struct {
		Min   *float64 `json:"min"`
		Scale *float64 `json:"scale"`
		DType string   `json:"dtype"`
	} `json:"quantization"`
}

type modelFile struct {
	Format          string          `json:"format"`
	ModelTopology   json.RawMessage `json:"modelTopology"`
	WeightsManifest []manifestGroup `json:"weightsManifest"`
}

// maxWeightBytes bounds the weight data read for one model (InceptionV3's
// uint8 weights are 24 MB; float32 exports are four times that).
const maxWeightBytes = 1 << 30

// Read loads a model directory: model.json with its .bin shards (the
// format tensorflowjs_converter writes), or model.min.js with
// group*-shard*.min.js bundles (nsfwjs's dist/models/<name>/).
func Read(dir string) (*Model, error) {
	var mf modelFile
	bundled := false
	if raw, err := os.ReadFile(filepath.Join(dir, "model.json")); err == nil {
		if err := json.Unmarshal(raw, &mf); err != nil {
			return nil, fmt.Errorf("tfjs %s: model.json: %w", dir, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tfjs %s: %w", dir, err)
	} else {
		raw, err := os.ReadFile(filepath.Join(dir, "model.min.js"))
		if err != nil {
			return nil, fmt.Errorf("tfjs %s: neither model.json nor model.min.js: %w", dir, err)
		}
		v, err := exportedLiteral(string(raw))
		if err != nil {
			return nil, fmt.Errorf("tfjs %s: model.min.js: %w", dir, err)
		}
		js, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("tfjs %s: model.min.js: %w", dir, err)
		}
		if err := json.Unmarshal(js, &mf); err != nil {
			return nil, fmt.Errorf("tfjs %s: model.min.js: %w", dir, err)
		}
		bundled = true
	}
	if mf.Format != "" && mf.Format != "layers-model" {
		return nil, fmt.Errorf("tfjs %s: format %q: only layers models convert (a graph model is already a TensorFlow graph)", dir, mf.Format)
	}
	if len(mf.ModelTopology) == 0 {
		return nil, fmt.Errorf("tfjs %s: no modelTopology", dir)
	}
	m := &Model{Format: "layers-model", Topology: mf.ModelTopology, Weights: map[string]Weight{}}
	total := 0
	for _, g := range mf.WeightsManifest {
		var data []byte
		for _, p := range g.Paths {
			b, err := readShard(dir, p, bundled)
			if err != nil {
				return nil, err
			}
			if total += len(b); total > maxWeightBytes {
				return nil, fmt.Errorf("tfjs %s: weights over %d bytes", dir, maxWeightBytes)
			}
			data = append(data, b...)
		}
		off := 0
		for _, s := range g.Weights {
			w, n, err := decodeWeight(s, data[off:])
			if err != nil {
				return nil, fmt.Errorf("tfjs %s: weight %s: %w", dir, s.Name, err)
			}
			off += n
			m.Weights[s.Name] = w
		}
		if off != len(data) {
			return nil, fmt.Errorf("tfjs %s: shards %v hold %d bytes, the manifest %d", dir, g.Paths, len(data), off)
		}
	}
	return m, nil
}

func readShard(dir, path string, bundled bool) ([]byte, error) {
	if strings.Contains(path, "..") || filepath.IsAbs(path) {
		return nil, fmt.Errorf("tfjs %s: shard path %q leaves the model directory", dir, path)
	}
	if !bundled {
		b, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			return nil, fmt.Errorf("tfjs %s: %w", dir, err)
		}
		return b, nil
	}
	name := filepath.Join(dir, strings.TrimSuffix(path, ".bin")+".min.js")
	js, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("tfjs %s: %w", dir, err)
	}
	v, err := exportedLiteral(string(js))
	if err != nil {
		return nil, fmt.Errorf("tfjs %s: %w", name, err)
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("tfjs %s: exports a %T, not a base64 string", name, v)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("tfjs %s: %w", name, err)
	}
	return b, nil
}

// decodeWeight dequantises one weight as TF.js does: q*scale + min for
// uint8 and uint16 quantisation, raw little-endian float32 otherwise.
func decodeWeight(s weightSpec, data []byte) (Weight, int, error) {
	n := 1
	for _, d := range s.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return Weight{}, 0, fmt.Errorf("bad shape %v", s.Shape)
		}
		n *= d
	}
	if s.DType != "" && s.DType != "float32" {
		return Weight{}, 0, fmt.Errorf("dtype %s: only float32 weights convert", s.DType)
	}
	w := Weight{Shape: s.Shape, Data: make([]float32, n)}
	q := s.Quantization
	switch {
	case q == nil:
		if len(data) < 4*n {
			return Weight{}, 0, fmt.Errorf("needs %d bytes, the shards have %d left", 4*n, len(data))
		}
		for i := range w.Data {
			w.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		return w, 4 * n, nil
	case q.Min == nil || q.Scale == nil:
		return Weight{}, 0, fmt.Errorf("quantization %s without min and scale (float16 quantisation is not read)", q.DType)
	case q.DType == "uint8":
		if len(data) < n {
			return Weight{}, 0, fmt.Errorf("needs %d bytes, the shards have %d left", n, len(data))
		}
		for i := range w.Data {
			w.Data[i] = float32(float64(data[i])*(*q.Scale) + *q.Min)
		}
		return w, n, nil
	case q.DType == "uint16":
		if len(data) < 2*n {
			return Weight{}, 0, fmt.Errorf("needs %d bytes, the shards have %d left", 2*n, len(data))
		}
		for i := range w.Data {
			w.Data[i] = float32(float64(binary.LittleEndian.Uint16(data[2*i:]))*(*q.Scale) + *q.Min)
		}
		return w, 2 * n, nil
	default:
		return Weight{}, 0, fmt.Errorf("quantization dtype %q", q.DType)
	}
}
