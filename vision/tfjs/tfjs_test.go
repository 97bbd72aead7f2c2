package tfjs

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/sieve-stream/sieve/internal/onnxrt"
)

func TestParseLiteral(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`{a:1,"b":[!0,!1,null],c:'x\'y',d:.5,e:-0,f:1e-3}`, map[string]any{"a": 1.0, "b": []any{true, false, nil}, "c": "x'y", "d": 0.5, "e": math.Copysign(0, -1), "f": 1e-3}},
		{`[ 1 , 2 ,]`, []any{1.0, 2.0}},
		{`"\u0041\x42\n"`, "AB\n"},
		{`{0:"zero",$k:true}`, map[string]any{"0": "zero", "$k": true}},
	}
	for _, tt := range tests {
		got, _, err := parseLiteral(tt.in, 0)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{`{a:}`, `[1,2`, `"open`, `{a:foo()}`, `!2`, strings.Repeat("[", 300)} {
		if _, _, err := parseLiteral(bad, 0); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	v, err := exportedLiteral(`!function(e){...}({1:[function(e,a,n){a.exports={x:[1]}},{}]});`)
	if err != nil || !reflect.DeepEqual(v, map[string]any{"x": []any{1.0}}) {
		t.Errorf("exportedLiteral: %v %v", v, err)
	}
}

func FuzzParseLiteral(f *testing.F) {
	f.Add(`{a:1,b:[!0,"s",.5e3],c:{d:null}}`)
	f.Add(`a.exports="QUJD"`)
	f.Fuzz(func(t *testing.T, s string) {
		v, end, err := parseLiteral(s, 0)
		if err != nil {
			return
		}
		if end < 0 || end > len(s) {
			t.Fatalf("end %d of %d", end, len(s))
		}
		if _, err := json.Marshal(v); err != nil && !strings.Contains(err.Error(), "unsupported value") {
			t.Fatalf("a parsed literal does not marshal: %v", err)
		}
		exportedLiteral(s)
	})
}

// writeModel writes a model.json with float32 weights in one shard.
func writeModel(t *testing.T, topology string, weights map[string][]float32, shapes map[string][]int, order []string) string {
	t.Helper()
	dir := t.TempDir()
	var data []byte
	var specs []map[string]any
	for _, name := range order {
		for _, v := range weights[name] {
			b := math.Float32bits(v)
			data = append(data, byte(b), byte(b>>8), byte(b>>16), byte(b>>24))
		}
		specs = append(specs, map[string]any{"name": name, "shape": shapes[name], "dtype": "float32"})
	}
	mf := map[string]any{"format": "layers-model", "modelTopology": json.RawMessage(topology),
		"weightsManifest": []any{map[string]any{"paths": []string{"group1-shard1of1.bin"}, "weights": specs}}}
	b, _ := json.Marshal(mf)
	if err := os.WriteFile(filepath.Join(dir, "model.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "group1-shard1of1.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A model small enough to compute by hand: a 1x1 conv with bias, a
// batch normalisation (folded into it), ReLU6, global average pooling and
// a softmax dense layer.
const tinyTopology = `{"keras_version":"2.2.4","model_config":{"class_name":"Model","config":{"name":"tiny","layers":[
 {"name":"in","class_name":"InputLayer","config":{"batch_input_shape":[null,2,2,1]},"inbound_nodes":[]},
 {"name":"conv","class_name":"Conv2D","config":{"filters":2,"kernel_size":[1,1],"strides":[1,1],"padding":"same","activation":"linear","use_bias":true},"inbound_nodes":[[["in",0,0,{}]]]},
 {"name":"bn","class_name":"BatchNormalization","config":{"epsilon":0,"center":true,"scale":true},"inbound_nodes":[[["conv",0,0,{}]]]},
 {"name":"relu","class_name":"ReLU","config":{"max_value":6},"inbound_nodes":[[["bn",0,0,{}]]]},
 {"name":"gap","class_name":"GlobalAveragePooling2D","config":{},"inbound_nodes":[[["relu",0,0,{}]]]},
 {"name":"out","class_name":"Dense","config":{"units":2,"activation":"softmax","use_bias":false},"inbound_nodes":[[["gap",0,0,{}]]]}],
 "input_layers":[["in",0,0]],"output_layers":[["out",0,0]]}}}`

func TestConvertTinyModel(t *testing.T) {
	if _, err := onnxrt.Init(""); err != nil {
		t.Skipf("ONNX Runtime is not installed here (run ./scripts/test-deps.sh): %v", err)
	}
	w := map[string][]float32{
		"conv/kernel": {1, -2}, "conv/bias": {0.5, 1},
		"bn/gamma": {2, 1}, "bn/beta": {0, 1}, "bn/moving_mean": {0.5, 0}, "bn/moving_variance": {4, 1},
		"out/kernel": {1, 0, 0, 1},
	}
	shapes := map[string][]int{"conv/kernel": {1, 1, 1, 2}, "conv/bias": {2}, "bn/gamma": {2}, "bn/beta": {2},
		"bn/moving_mean": {2}, "bn/moving_variance": {2}, "out/kernel": {2, 2}}
	order := []string{"conv/kernel", "conv/bias", "bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance", "out/kernel"}
	m, err := Read(writeModel(t, tinyTopology, w, shapes, order))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Convert(m)
	if err != nil {
		t.Fatal(err)
	}
	if c.Folded != 1 {
		t.Errorf("folded %d batch normalisations, want 1", c.Folded)
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(c.ONNX, []string{c.Input}, []string{c.Output}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	px := []float32{0, 1, 2, 3}
	in, _ := ort.NewTensor(ort.NewShape(1, 2, 2, 1), px)
	defer in.Destroy()
	outs := []ort.Value{nil}
	if err := s.Run([]ort.Value{in}, outs); err != nil {
		t.Fatal(err)
	}
	defer outs[0].Destroy()
	got := outs[0].(*ort.Tensor[float32]).GetData()
	// By hand: channel 0 = clip(2*(x+0.5-0.5)/2, 0, 6) = clip(x);
	// channel 1 = clip((-2x+1)/1 + 1, 0, 6) = clip(2-2x).
	var a, b float64
	for _, x := range px {
		a += math.Min(6, math.Max(0, float64(x)))
		b += math.Min(6, math.Max(0, 2-2*float64(x)))
	}
	a, b = a/4, b/4
	want0 := math.Exp(a) / (math.Exp(a) + math.Exp(b))
	if math.Abs(float64(got[0])-want0) > 1e-6 || math.Abs(float64(got[1])-(1-want0)) > 1e-6 {
		t.Errorf("got %v, want [%v %v]", got, want0, 1-want0)
	}
}

func TestConvertRefuses(t *testing.T) {
	tests := []struct {
		name, topology, want string
	}{
		{"unknown layer", strings.Replace(tinyTopology, `"class_name":"Conv2D"`, `"class_name":"LSTM"`, 1), `layer "conv" (LSTM): the converter does not know LSTM layers`},
		{"channels first", strings.Replace(tinyTopology, `"filters":2,`, `"filters":2,"data_format":"channels_first",`, 1), `layer "conv" (Conv2D): data_format "channels_first"`},
		{"missing input", strings.Replace(tinyTopology, `[[["gap",0,0,{}]]]`, `[[["nowhere",0,0,{}]]]`, 1), `takes "nowhere", which the model does not have`},
		{"graph model", "", `format "graph-model"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			format := "layers-model"
			if tt.topology == "" {
				format, tt.topology = "graph-model", "{}"
			}
			b, _ := json.Marshal(map[string]any{"format": format, "modelTopology": json.RawMessage(tt.topology), "weightsManifest": []any{}})
			os.WriteFile(filepath.Join(dir, "model.json"), b, 0o644)
			m, err := Read(dir)
			if err == nil {
				_, err = Convert(m)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDequantise(t *testing.T) {
	min, scale := -1.0, 0.5
	spec := weightSpec{Name: "w", Shape: []int{3}, DType: "float32"}
	spec.Quantization = &struct {
		Min   *float64 `json:"min"`
		Scale *float64 `json:"scale"`
		DType string   `json:"dtype"`
	}{&min, &scale, "uint8"}
	w, n, err := decodeWeight(spec, []byte{0, 2, 255})
	if err != nil || n != 3 || !reflect.DeepEqual(w.Data, []float32{-1, 0, 126.5}) {
		t.Errorf("got %v %d %v", w.Data, n, err)
	}
	if _, _, err := decodeWeight(spec, []byte{1}); err == nil {
		t.Error("short data accepted")
	}
}
