package tfjs

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/sieve-stream/sieve/classifiers/onnxmodel"
)

// Layers lists the Keras layer classes Convert knows. Any other class is
// refused with the layer's name.
var Layers = []string{
	"InputLayer", "ZeroPadding2D", "Conv2D", "DepthwiseConv2D", "BatchNormalization",
	"ReLU", "Activation", "Add", "Concatenate", "AveragePooling2D", "MaxPooling2D",
	"GlobalAveragePooling2D", "Flatten", "Dense", "Dropout", "Softmax",
}

type topology struct {
	KerasVersion string `json:"keras_version"`
	ModelConfig  struct {
		ClassName string          `json:"class_name"`
		Config    json.RawMessage `json:"config"`
	} `json:"model_config"`
}

type modelConfig struct {
	Name         string   `json:"name"`
	Layers       []layer  `json:"layers"`
	InputLayers  [][3]any `json:"input_layers"`
	OutputLayers [][3]any `json:"output_layers"`
}

type layer struct {
	Name          string          `json:"name"`
	ClassName     string          `json:"class_name"`
	Config        json.RawMessage `json:"config"`
	InboundNodes  json.RawMessage `json:"inbound_nodes"`
	inputs        []string
	config        layerConfig
	consumerCount int
}

// layerConfig is the union of the fields the known layers use.
type layerConfig struct {
	Name            string          `json:"name"`
	BatchInputShape []*int          `json:"batch_input_shape"`
	DataFormat      string          `json:"data_format"`
	Filters         int             `json:"filters"`
	KernelSize      []int           `json:"kernel_size"`
	Strides         []int           `json:"strides"`
	Padding         json.RawMessage `json:"padding"`
	DilationRate    json.RawMessage `json:"dilation_rate"`
	DepthMultiplier int             `json:"depth_multiplier"`
	Activation      string          `json:"activation"`
	UseBias         *bool           `json:"use_bias"`
	Axis            json.RawMessage `json:"axis"`
	Epsilon         *float64        `json:"epsilon"`
	Center          *bool           `json:"center"`
	Scale           *bool           `json:"scale"`
	MaxValue        *float64        `json:"max_value"`
	NegativeSlope   float64         `json:"negative_slope"`
	Threshold       float64         `json:"threshold"`
	PoolSize        []int           `json:"pool_size"`
	Units           int             `json:"units"`
	KeepDims        bool            `json:"keepdims"`
	Groups          int             `json:"groups"`
}

// shape is a tensor's shape without the batch: C, H, W for images (in
// ONNX's NCHW order), F for vectors.
type shape []int

// Converted is an ONNX model made from a TF.js layers model.
type Converted struct {
	ONNX   []byte
	Input  string // [batch, height, width, channels], as the Keras model takes it
	Output string
	Height int
	Width  int
	// Layers counts the converted layers by class; Folded counts the
	// batch normalisations folded into the convolution before them.
	Layers map[string]int
	Folded int
}

// Convert turns a layers model into an ONNX graph (opset 17) that takes
// the Keras input as it is (NHWC float32) and gives the Keras output.
// BatchNormalization is folded into the convolution it follows when that
// convolution feeds nothing else; a layer class outside Layers is an error
// that names the layer.
func Convert(m *Model) (*Converted, error) {
	var top topology
	if err := json.Unmarshal(m.Topology, &top); err != nil {
		return nil, fmt.Errorf("tfjs: modelTopology: %w", err)
	}
	var mc modelConfig
	switch top.ModelConfig.ClassName {
	case "Model", "Functional":
		if err := json.Unmarshal(top.ModelConfig.Config, &mc); err != nil {
			return nil, fmt.Errorf("tfjs: model_config: %w", err)
		}
	case "Sequential":
		// Keras writes a Sequential model's config as {name, layers} or,
		// before 2.2.3, as the layer list itself.
		if err := json.Unmarshal(top.ModelConfig.Config, &mc); err != nil {
			if err2 := json.Unmarshal(top.ModelConfig.Config, &mc.Layers); err2 != nil {
				return nil, fmt.Errorf("tfjs: model_config: %w", err)
			}
		}
		for i := range mc.Layers {
			if i > 0 {
				mc.Layers[i].inputs = []string{mc.Layers[i-1].Name}
			}
		}
	default:
		return nil, fmt.Errorf("tfjs: model class %q: only Model, Functional and Sequential convert", top.ModelConfig.ClassName)
	}
	if len(mc.Layers) == 0 {
		return nil, fmt.Errorf("tfjs: the model has no layers")
	}
	c := &converter{m: m, shapes: map[string]shape{}, alias: map[string]string{}, out: &Converted{Layers: map[string]int{}}}
	byName := map[string]*layer{}
	for i := range mc.Layers {
		l := &mc.Layers[i]
		if l.Name == "" {
			return nil, fmt.Errorf("tfjs: layer %d has no name", i)
		}
		if err := json.Unmarshal(l.Config, &l.config); err != nil {
			return nil, fmt.Errorf("tfjs: layer %q (%s): config: %w", l.Name, l.ClassName, err)
		}
		if top.ModelConfig.ClassName != "Sequential" {
			ins, err := inboundNames(l.InboundNodes)
			if err != nil {
				return nil, fmt.Errorf("tfjs: layer %q: %w", l.Name, err)
			}
			l.inputs = ins
		}
		byName[l.Name] = l
	}
	// A Sequential model may have no InputLayer: its first layer carries
	// batch_input_shape.
	if first := &mc.Layers[0]; first.ClassName != "InputLayer" {
		if len(first.config.BatchInputShape) == 0 {
			return nil, fmt.Errorf("tfjs: first layer %q has no batch_input_shape", first.Name)
		}
		in := layer{Name: first.Name + "_input", ClassName: "InputLayer", config: layerConfig{BatchInputShape: first.config.BatchInputShape}}
		first.inputs = []string{in.Name}
		mc.Layers = append([]layer{in}, mc.Layers...)
		byName[in.Name] = &mc.Layers[0]
	}
	for i := range mc.Layers {
		for _, in := range mc.Layers[i].inputs {
			p, ok := byName[in]
			if !ok {
				return nil, fmt.Errorf("tfjs: layer %q takes %q, which the model does not have", mc.Layers[i].Name, in)
			}
			p.consumerCount++
		}
	}
	output := mc.Layers[len(mc.Layers)-1].Name
	if len(mc.OutputLayers) > 1 {
		return nil, fmt.Errorf("tfjs: %d outputs: only single-output models convert", len(mc.OutputLayers))
	}
	if len(mc.OutputLayers) == 1 {
		name, _ := mc.OutputLayers[0][0].(string)
		if _, ok := byName[name]; !ok {
			return nil, fmt.Errorf("tfjs: output layer %q is not in the model", name)
		}
		output = name
	}
	inputs := 0
	for i := range mc.Layers {
		l := &mc.Layers[i]
		if l.ClassName == "InputLayer" {
			if inputs++; inputs > 1 {
				return nil, fmt.Errorf("tfjs: layer %q: only single-input models convert", l.Name)
			}
		}
		if err := c.layer(l, byName); err != nil {
			return nil, fmt.Errorf("tfjs: layer %q (%s): %w", l.Name, l.ClassName, err)
		}
		c.out.Layers[l.ClassName]++
	}
	if inputs == 0 {
		return nil, fmt.Errorf("tfjs: the model has no InputLayer")
	}
	final := c.name(output)
	outShape := c.shapes[final]
	if len(outShape) != 1 {
		return nil, fmt.Errorf("tfjs: output %q has shape %v; only a vector per image converts", output, outShape)
	}
	c.g.Nodes = append(c.g.Nodes, onnxmodel.Node{Op: "Identity", Inputs: []string{final}, Outputs: []string{"output"}})
	c.g.Outputs = []onnxmodel.Value{{Name: "output", Type: onnxmodel.Float, Dims: []int64{-1, int64(outShape[0])}, DimNames: []string{"batch"}}}
	c.g.Name = "tfjs:" + mc.Name
	c.out.Output = "output"
	c.out.ONNX = c.g.Marshal()
	return c.out, nil
}

// inboundNames reads Keras 2's inbound_nodes, [[[name, node, tensor,
// kwargs], ...]], for a layer called once.
func inboundNames(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var nodes [][][]any
	if err := json.Unmarshal(raw, &nodes); err != nil {
		return nil, fmt.Errorf("inbound_nodes: not Keras 2's [[[layer, node, tensor, kwargs]]] form: %w", err)
	}
	if len(nodes) > 1 {
		return nil, fmt.Errorf("inbound_nodes: the layer is called %d times; shared layers do not convert", len(nodes))
	}
	var names []string
	for _, n := range nodes {
		for _, t := range n {
			if len(t) < 3 {
				return nil, fmt.Errorf("inbound_nodes: entry %v is not [layer, node, tensor, ...]", t)
			}
			name, ok := t[0].(string)
			if !ok {
				return nil, fmt.Errorf("inbound_nodes: entry %v has no layer name", t)
			}
			if ni, _ := t[1].(float64); ni != 0 {
				return nil, fmt.Errorf("inbound_nodes: %s's node %v: shared layers do not convert", name, ni)
			}
			names = append(names, name)
		}
	}
	return names, nil
}

type converter struct {
	m      *Model
	g      onnxmodel.Graph
	shapes map[string]shape  // ONNX tensor -> shape without batch
	alias  map[string]string // Keras layer -> ONNX tensor holding its output
	consts int
	out    *Converted
}

// name is the ONNX tensor that holds a Keras layer's output.
func (c *converter) name(layer string) string {
	if a, ok := c.alias[layer]; ok {
		return a
	}
	return layer
}

func (c *converter) weight(l *layer, part string) (Weight, bool) {
	if w, ok := c.m.Weights[l.Name+"/"+part]; ok {
		return w, true
	}
	// Some exporters prefix the model's name: "model_1/conv1/kernel".
	for k, w := range c.m.Weights {
		if strings.HasSuffix(k, "/"+l.Name+"/"+part) {
			return w, true
		}
	}
	return Weight{}, false
}

func (c *converter) constant(prefix string, dims []int64, data []float32) string {
	c.consts++
	name := fmt.Sprintf("%s/const%d", prefix, c.consts)
	c.g.Initializers = append(c.g.Initializers, onnxmodel.Tensor{Name: name, Dims: dims, Type: onnxmodel.Float, Floats: data})
	return name
}

func (c *converter) ints(prefix string, data []int64) string {
	c.consts++
	name := fmt.Sprintf("%s/ints%d", prefix, c.consts)
	c.g.Initializers = append(c.g.Initializers, onnxmodel.Tensor{Name: name, Dims: []int64{int64(len(data))}, Type: onnxmodel.Int64, Int64s: data})
	return name
}

func (c *converter) node(op string, ins []string, out string, attrs ...onnxmodel.Attr) {
	c.g.Nodes = append(c.g.Nodes, onnxmodel.Node{Op: op, Inputs: ins, Outputs: []string{out}, Attrs: attrs})
}

func ints(name string, v ...int) onnxmodel.Attr {
	a := onnxmodel.Attr{Name: name}
	for _, x := range v {
		a.Ints = append(a.Ints, int64(x))
	}
	return a
}

func pair(v []int, def int) (int, int) {
	switch len(v) {
	case 0:
		return def, def
	case 1:
		return v[0], v[0]
	default:
		return v[0], v[1]
	}
}

// intOrPair reads a Keras field that is a number or a pair of numbers.
func intOrPair(raw json.RawMessage, def int) (int, int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return def, def, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, n, nil
	}
	var p []int
	if err := json.Unmarshal(raw, &p); err != nil {
		return 0, 0, fmt.Errorf("%s is neither a number nor a pair", raw)
	}
	a, b := pair(p, def)
	return a, b, nil
}

// samePads are TensorFlow's SAME paddings along one axis: the output is
// ceil(in/stride), and an odd total pads one more after than before.
func samePads(in, k, stride, dilation int) (before, after, out int) {
	out = (in + stride - 1) / stride
	eff := (k-1)*dilation + 1
	total := max((out-1)*stride+eff-in, 0)
	return total / 2, total - total/2, out
}

func validOut(in, k, stride, dilation int) int {
	eff := (k-1)*dilation + 1
	return (in-eff)/stride + 1
}

func (c *converter) padding(l *layer) (string, error) {
	var p string
	if err := json.Unmarshal(l.config.Padding, &p); err != nil {
		return "", fmt.Errorf("padding %s is not \"same\" or \"valid\"", l.config.Padding)
	}
	if p != "same" && p != "valid" {
		return "", fmt.Errorf("padding %q is not \"same\" or \"valid\"", p)
	}
	return p, nil
}

// window computes the pads and output size of a convolution or pooling.
func (c *converter) window(l *layer, in shape, kh, kw, sh, sw, dh, dw int) (pads []int, oh, ow int, err error) {
	if kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1 {
		return nil, 0, 0, fmt.Errorf("window %dx%d, strides %dx%d, dilation %dx%d: each must be at least 1", kh, kw, sh, sw, dh, dw)
	}
	p, err := c.padding(l)
	if err != nil {
		return nil, 0, 0, err
	}
	if p == "same" {
		t, b, oh := samePads(in[1], kh, sh, dh)
		left, r, ow := samePads(in[2], kw, sw, dw)
		return []int{t, left, b, r}, oh, ow, nil
	}
	oh, ow = validOut(in[1], kh, sh, dh), validOut(in[2], kw, sw, dw)
	if oh <= 0 || ow <= 0 {
		return nil, 0, 0, fmt.Errorf("a %dx%d window over a %dx%d input leaves nothing", kh, kw, in[1], in[2])
	}
	return []int{0, 0, 0, 0}, oh, ow, nil
}

func (c *converter) input(l *layer, i int) (string, shape, error) {
	if i >= len(l.inputs) {
		return "", nil, fmt.Errorf("takes %d inputs, needs %d", len(l.inputs), i+1)
	}
	n := c.name(l.inputs[i])
	s, ok := c.shapes[n]
	if !ok {
		return "", nil, fmt.Errorf("input %q comes later in the layer list", l.inputs[i])
	}
	return n, s, nil
}

func (c *converter) image(l *layer) (string, shape, error) {
	in, s, err := c.input(l, 0)
	if err != nil {
		return "", nil, err
	}
	if len(s) != 3 {
		return "", nil, fmt.Errorf("needs an image (height, width, channels), has a tensor of shape %v", s)
	}
	if f := l.config.DataFormat; f != "" && f != "channels_last" {
		return "", nil, fmt.Errorf("data_format %q: only channels_last converts", f)
	}
	return in, s, nil
}

func (c *converter) layer(l *layer, byName map[string]*layer) error {
	cfg := &l.config
	out := l.Name
	switch l.ClassName {
	case "InputLayer":
		s := cfg.BatchInputShape
		if len(s) != 4 || s[1] == nil || s[2] == nil || s[3] == nil {
			return fmt.Errorf("batch_input_shape %v: only [batch, height, width, channels] with a fixed size converts", shapeString(s))
		}
		h, w, ch := *s[1], *s[2], *s[3]
		c.out.Input, c.out.Height, c.out.Width = l.Name, h, w
		c.g.Inputs = []onnxmodel.Value{{Name: l.Name, Type: onnxmodel.Float, Dims: []int64{-1, int64(h), int64(w), int64(ch)}, DimNames: []string{"batch"}}}
		out = l.Name + "/nchw"
		c.node("Transpose", []string{l.Name}, out, ints("perm", 0, 3, 1, 2))
		c.alias[l.Name] = out
		c.shapes[out] = shape{ch, h, w}
		return nil
	case "Dropout":
		in, s, err := c.input(l, 0)
		if err != nil {
			return err
		}
		c.alias[l.Name] = in
		c.shapes[in] = s
		return nil
	case "ZeroPadding2D":
		in, s, err := c.image(l)
		if err != nil {
			return err
		}
		t, b, left, r, err := zeroPadding(cfg.Padding)
		if err != nil {
			return err
		}
		pads := c.ints(out, []int64{0, 0, int64(t), int64(left), 0, 0, int64(b), int64(r)})
		c.node("Pad", []string{in, pads}, out)
		c.shapes[out] = shape{s[0], s[1] + t + b, s[2] + left + r}
		return nil
	case "Conv2D", "DepthwiseConv2D":
		return c.conv(l, byName)
	case "BatchNormalization":
		return c.batchNorm(l)
	case "ReLU":
		in, s, err := c.input(l, 0)
		if err != nil {
			return err
		}
		if cfg.NegativeSlope != 0 || cfg.Threshold != 0 {
			return fmt.Errorf("negative_slope %v and threshold %v: only a plain or capped ReLU converts", cfg.NegativeSlope, cfg.Threshold)
		}
		if cfg.MaxValue != nil {
			lo := c.constant(out, nil, []float32{0})
			hi := c.constant(out, nil, []float32{float32(*cfg.MaxValue)})
			c.node("Clip", []string{in, lo, hi}, out)
		} else {
			c.node("Relu", []string{in}, out)
		}
		c.shapes[out] = s
		return nil
	case "Activation":
		in, s, err := c.input(l, 0)
		if err != nil {
			return err
		}
		return c.activation(cfg.Activation, in, out, s)
	case "Softmax":
		in, s, err := c.input(l, 0)
		if err != nil {
			return err
		}
		return c.activation("softmax", in, out, s)
	case "Add":
		var ins []string
		var s0 shape
		for i := range l.inputs {
			in, s, err := c.input(l, i)
			if err != nil {
				return err
			}
			if i > 0 && !equal(s, s0) {
				return fmt.Errorf("adds shapes %v and %v", s0, s)
			}
			ins, s0 = append(ins, in), s
		}
		if len(ins) < 2 {
			return fmt.Errorf("adds %d inputs", len(ins))
		}
		c.node("Sum", ins, out)
		c.shapes[out] = s0
		return nil
	case "Concatenate":
		axis := -1
		if len(cfg.Axis) > 0 {
			if err := json.Unmarshal(cfg.Axis, &axis); err != nil {
				return fmt.Errorf("axis %s", cfg.Axis)
			}
		}
		var ins []string
		var shapes []shape
		for i := range l.inputs {
			in, s, err := c.input(l, i)
			if err != nil {
				return err
			}
			ins, shapes = append(ins, in), append(shapes, s)
		}
		if len(ins) == 0 {
			return fmt.Errorf("concatenates nothing")
		}
		rank := len(shapes[0]) + 1 // with the batch, in Keras's order
		if axis < 0 {
			axis += rank
		}
		// Keras's NHWC axis k in ONNX's NCHW: channels (3) move to 1,
		// height and width move one on.
		onnxAxis, dim := axis, axis-1
		if rank == 4 {
			onnxAxis = map[int]int{1: 2, 2: 3, 3: 1}[axis]
			dim = onnxAxis - 1
		}
		if axis <= 0 || axis >= rank || onnxAxis == 0 {
			return fmt.Errorf("axis %d of a rank-%d tensor", axis, rank)
		}
		s := append(shape(nil), shapes[0]...)
		s[dim] = 0
		for i, x := range shapes {
			if len(x) != len(s) {
				return fmt.Errorf("input %d has shape %v", i, x)
			}
			for d := range x {
				if d != dim && x[d] != shapes[0][d] {
					return fmt.Errorf("inputs of shapes %v and %v differ off the axis", shapes[0], x)
				}
			}
			s[dim] += x[dim]
		}
		c.node("Concat", ins, out, onnxmodel.Attr{Name: "axis", Int: onnxmodel.Int(int64(onnxAxis))})
		c.shapes[out] = s
		return nil
	case "AveragePooling2D", "MaxPooling2D":
		in, s, err := c.image(l)
		if err != nil {
			return err
		}
		kh, kw := pair(cfg.PoolSize, 2)
		sh, sw := pair(cfg.Strides, 0)
		if len(cfg.Strides) == 0 {
			sh, sw = kh, kw
		}
		pads, oh, ow, err := c.window(l, s, kh, kw, sh, sw, 1, 1)
		if err != nil {
			return err
		}
		op := "AveragePool"
		if l.ClassName == "MaxPooling2D" {
			op = "MaxPool"
		}
		// TensorFlow averages over the window's pixels inside the image:
		// ONNX's count_include_pad=0, its default.
		c.node(op, []string{in}, out, ints("kernel_shape", kh, kw), ints("strides", sh, sw), ints("pads", pads...))
		c.shapes[out] = shape{s[0], oh, ow}
		return nil
	case "GlobalAveragePooling2D":
		in, s, err := c.image(l)
		if err != nil {
			return err
		}
		if cfg.KeepDims {
			return fmt.Errorf("keepdims: only the vector form converts")
		}
		c.node("GlobalAveragePool", []string{in}, out+"/pool")
		c.node("Flatten", []string{out + "/pool"}, out, onnxmodel.Attr{Name: "axis", Int: onnxmodel.Int(1)})
		c.shapes[out] = shape{s[0]}
		return nil
	case "Flatten":
		in, s, err := c.input(l, 0)
		if err != nil {
			return err
		}
		if len(s) == 3 {
			// Keras flattens height, width, channels in that order: back
			// to NHWC first, so a Dense after it sees its own order.
			c.node("Transpose", []string{in}, out+"/nhwc", ints("perm", 0, 2, 3, 1))
			in = out + "/nhwc"
		}
		c.node("Flatten", []string{in}, out, onnxmodel.Attr{Name: "axis", Int: onnxmodel.Int(1)})
		n := 1
		for _, d := range s {
			n *= d
		}
		c.shapes[out] = shape{n}
		return nil
	case "Dense":
		in, s, err := c.input(l, 0)
		if err != nil {
			return err
		}
		if len(s) != 1 {
			return fmt.Errorf("takes a vector, has shape %v (put a Flatten before it)", s)
		}
		k, ok := c.weight(l, "kernel")
		if !ok || len(k.Shape) != 2 || k.Shape[0] != s[0] || k.Shape[1] != cfg.Units {
			return fmt.Errorf("kernel missing or not [%d, %d]: %v", s[0], cfg.Units, k.Shape)
		}
		ins := []string{in, c.constant(out, []int64{int64(s[0]), int64(cfg.Units)}, k.Data)}
		if cfg.UseBias == nil || *cfg.UseBias {
			b, ok := c.weight(l, "bias")
			if !ok || len(b.Data) != cfg.Units {
				return fmt.Errorf("bias missing or not [%d]", cfg.Units)
			}
			ins = append(ins, c.constant(out, []int64{int64(cfg.Units)}, b.Data))
		}
		pre := out
		if cfg.Activation != "" && cfg.Activation != "linear" {
			pre = out + "/linear"
		}
		c.node("Gemm", ins, pre)
		c.shapes[pre] = shape{cfg.Units}
		if pre != out {
			return c.activation(cfg.Activation, pre, out, shape{cfg.Units})
		}
		return nil
	default:
		return fmt.Errorf("the converter does not know %s layers (it knows %s)", l.ClassName, strings.Join(Layers, ", "))
	}
}

func (c *converter) activation(act, in, out string, s shape) error {
	switch act {
	case "", "linear":
		c.node("Identity", []string{in}, out)
	case "relu":
		c.node("Relu", []string{in}, out)
	case "relu6":
		c.node("Clip", []string{in, c.constant(out, nil, []float32{0}), c.constant(out, nil, []float32{6})}, out)
	case "sigmoid":
		c.node("Sigmoid", []string{in}, out)
	case "tanh":
		c.node("Tanh", []string{in}, out)
	case "softmax":
		if len(s) != 1 {
			return fmt.Errorf("softmax over an image tensor %v does not convert", s)
		}
		c.node("Softmax", []string{in}, out, onnxmodel.Attr{Name: "axis", Int: onnxmodel.Int(-1)})
	default:
		return fmt.Errorf("activation %q does not convert", act)
	}
	c.shapes[out] = s
	return nil
}

// conv emits a Conv2D or DepthwiseConv2D as one ONNX Conv, with the
// BatchNormalization after it folded in when nothing else reads the
// convolution's output.
func (c *converter) conv(l *layer, byName map[string]*layer) error {
	cfg := &l.config
	in, s, err := c.image(l)
	if err != nil {
		return err
	}
	kh, kw := pair(cfg.KernelSize, 1)
	sh, sw := pair(cfg.Strides, 1)
	dh, dw, err := intOrPair(cfg.DilationRate, 1)
	if err != nil {
		return fmt.Errorf("dilation_rate: %w", err)
	}
	if cfg.Groups > 1 {
		return fmt.Errorf("groups %d: grouped convolutions do not convert", cfg.Groups)
	}
	k, ok := c.weight(l, "kernel")
	if l.ClassName == "DepthwiseConv2D" {
		k, ok = c.weight(l, "depthwise_kernel")
	}
	if !ok || len(k.Shape) != 4 || k.Shape[0] != kh || k.Shape[1] != kw || k.Shape[2] != s[0] {
		return fmt.Errorf("kernel missing or not [%d, %d, %d, ...]: %v", kh, kw, s[0], k.Shape)
	}
	cin := s[0]
	var cout, group int
	var w []float32
	if l.ClassName == "DepthwiseConv2D" {
		mult := k.Shape[3]
		cout, group = cin*mult, cin
		// [kh, kw, C, mult] -> [C*mult, 1, kh, kw]; output c*mult+m.
		w = make([]float32, cout*kh*kw)
		for y := range kh {
			for x := range kw {
				for ch := range cin {
					for m := range mult {
						w[((ch*mult+m)*kh+y)*kw+x] = k.Data[((y*kw+x)*cin+ch)*mult+m]
					}
				}
			}
		}
	} else {
		cout, group = k.Shape[3], 1
		// [kh, kw, in, out] -> [out, in, kh, kw].
		w = make([]float32, cout*cin*kh*kw)
		for y := range kh {
			for x := range kw {
				for i := range cin {
					for o := range cout {
						w[((o*cin+i)*kh+y)*kw+x] = k.Data[((y*kw+x)*cin+i)*cout+o]
					}
				}
			}
		}
	}
	bias := make([]float32, cout)
	if cfg.UseBias == nil || *cfg.UseBias {
		b, ok := c.weight(l, "bias")
		if !ok || len(b.Data) != cout {
			return fmt.Errorf("bias missing or not [%d]", cout)
		}
		copy(bias, b.Data)
	}
	pads, oh, ow, err := c.window(l, s, kh, kw, sh, sw, dh, dw)
	if err != nil {
		return err
	}
	out := l.Name
	// Fold the one BatchNormalization that alone reads a linear conv.
	if cfg.Activation == "" || cfg.Activation == "linear" {
		if next := c.soleConsumer(l, byName); next != nil && next.ClassName == "BatchNormalization" {
			scale, shift, err := c.bnAffine(next, cout)
			if err != nil {
				return fmt.Errorf("folding %q: %w", next.Name, err)
			}
			per := len(w) / cout
			for o := range cout {
				for j := range per {
					w[o*per+j] *= scale[o]
				}
				bias[o] = bias[o]*scale[o] + shift[o]
			}
			out = next.Name
			c.alias[l.Name] = out
			c.alias[next.Name] = out
			c.out.Folded++
		}
	}
	pre := out
	if cfg.Activation != "" && cfg.Activation != "linear" {
		pre = out + "/linear"
	}
	ws := c.constant(l.Name, []int64{int64(cout), int64(cin / group), int64(kh), int64(kw)}, w)
	bs := c.constant(l.Name, []int64{int64(cout)}, bias)
	c.node("Conv", []string{in, ws, bs}, pre, ints("kernel_shape", kh, kw), ints("strides", sh, sw), ints("dilations", dh, dw),
		ints("pads", pads...), onnxmodel.Attr{Name: "group", Int: onnxmodel.Int(int64(group))})
	c.shapes[pre] = shape{cout, oh, ow}
	if pre != out {
		return c.activation(cfg.Activation, pre, out, shape{cout, oh, ow})
	}
	return nil
}

// soleConsumer is the one layer that reads l, or nil.
func (c *converter) soleConsumer(l *layer, byName map[string]*layer) *layer {
	if l.consumerCount != 1 {
		return nil
	}
	for _, x := range byName {
		for _, in := range x.inputs {
			if in == l.Name {
				return x
			}
		}
	}
	return nil
}

// bnAffine is a BatchNormalization as y = x*scale + shift per channel.
func (c *converter) bnAffine(l *layer, ch int) (scale, shift []float32, err error) {
	cfg := &l.config
	if len(cfg.Axis) > 0 {
		var axis int
		var axes []int
		if json.Unmarshal(cfg.Axis, &axis) != nil {
			if json.Unmarshal(cfg.Axis, &axes) != nil || len(axes) != 1 {
				return nil, nil, fmt.Errorf("axis %s: only the channel axis converts", cfg.Axis)
			}
			axis = axes[0]
		}
		if axis != -1 && axis != 3 && axis != 1 {
			return nil, nil, fmt.Errorf("axis %d: only the channel axis converts", axis)
		}
	}
	get := func(part string, def float32) ([]float32, error) {
		w, ok := c.weight(l, part)
		if !ok {
			out := make([]float32, ch)
			for i := range out {
				out[i] = def
			}
			return out, nil
		}
		if len(w.Data) != ch {
			return nil, fmt.Errorf("%s has %d values for %d channels", part, len(w.Data), ch)
		}
		return w.Data, nil
	}
	mean, err := get("moving_mean", 0)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := c.weight(l, "moving_variance"); !ok {
		return nil, nil, fmt.Errorf("no moving_variance")
	}
	variance, err := get("moving_variance", 1)
	if err != nil {
		return nil, nil, err
	}
	gamma, beta := make([]float32, ch), make([]float32, ch)
	for i := range gamma {
		gamma[i] = 1
	}
	if cfg.Scale == nil || *cfg.Scale {
		if gamma, err = get("gamma", 1); err != nil {
			return nil, nil, err
		}
	}
	if cfg.Center == nil || *cfg.Center {
		if beta, err = get("beta", 0); err != nil {
			return nil, nil, err
		}
	}
	eps := 1e-3 // Keras's default
	if cfg.Epsilon != nil {
		eps = *cfg.Epsilon
	}
	scale, shift = make([]float32, ch), make([]float32, ch)
	for i := range ch {
		s := float64(gamma[i]) / math.Sqrt(float64(variance[i])+eps)
		scale[i] = float32(s)
		shift[i] = float32(float64(beta[i]) - float64(mean[i])*s)
	}
	return scale, shift, nil
}

// batchNorm emits a BatchNormalization that was not folded as a per-channel
// multiply and add.
func (c *converter) batchNorm(l *layer) error {
	if a, ok := c.alias[l.Name]; ok && c.shapes[a] != nil {
		return nil // folded into the convolution before it
	}
	in, s, err := c.input(l, 0)
	if err != nil {
		return err
	}
	scale, shift, err := c.bnAffine(l, s[0])
	if err != nil {
		return err
	}
	dims := []int64{int64(s[0])}
	if len(s) == 3 {
		dims = []int64{int64(s[0]), 1, 1}
	}
	c.node("Mul", []string{in, c.constant(l.Name, dims, scale)}, l.Name+"/scaled")
	c.node("Add", []string{l.Name + "/scaled", c.constant(l.Name, dims, shift)}, l.Name)
	c.shapes[l.Name] = s
	return nil
}

// zeroPadding reads ZeroPadding2D's padding: n, [h, w] or [[top,
// bottom], [left, right]].
func zeroPadding(raw json.RawMessage) (t, b, l, r int, err error) {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n, n, n, n, nil
	}
	var p []int
	if json.Unmarshal(raw, &p) == nil && len(p) == 2 {
		return p[0], p[0], p[1], p[1], nil
	}
	var pp [][]int
	if json.Unmarshal(raw, &pp) == nil && len(pp) == 2 && len(pp[0]) == 2 && len(pp[1]) == 2 {
		return pp[0][0], pp[0][1], pp[1][0], pp[1][1], nil
	}
	return 0, 0, 0, 0, fmt.Errorf("padding %s is not n, [h, w] or [[top, bottom], [left, right]]", raw)
}

func equal(a, b shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func shapeString(s []*int) string {
	parts := make([]string, len(s))
	for i, x := range s {
		if x == nil {
			parts[i] = "null"
		} else {
			parts[i] = fmt.Sprint(*x)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
