// Package encoder runs Hugging Face transformer classifiers exported to
// ONNX (model.onnx, tokenizer.json, config.json) on ONNX Runtime, with
// dynamic padding and length buckets so short posts are not padded to the
// longest text of a batch.
package encoder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/internal/onnxrt"
	"github.com/sieve-stream/sieve/internal/tokenizer"
	ort "github.com/yalue/onnxruntime_go"
)

// Padding strategies.
const (
	// PadBuckets sorts a micro-batch by token count and runs batches of
	// similar length, each padded to its own longest text (the default).
	PadBuckets = "buckets"
	// PadBatch pads each batch, in arrival order, to its longest text.
	PadBatch = "batch"
	// PadMax pads everything to MaxLength (the naive baseline).
	PadMax = "max"
)

// Config is one encoder in sieve.yaml (classifiers: type onnx).
type Config struct {
	// Dir holds model.onnx, tokenizer.json and config.json.
	Dir string `yaml:"dir"`
	// Name defaults to the directory's base name.
	Name string `yaml:"name"`
	// Library is libonnxruntime's path; default: $SIEVE_ONNXRUNTIME_LIB,
	// then .cache/onnxruntime/libonnxruntime.so.1 where scripts/test-deps.sh
	// puts it.
	Library   string `yaml:"library"`
	MaxLength int    `yaml:"max_length"` // default: config.json's max_position_embeddings, else 512
	BatchSize int    `yaml:"batch_size"` // texts per ONNX run; default 32
	Padding   string `yaml:"padding"`    // buckets, batch or max
	// The execution provider (cpu, cuda or tensorrt; a GPU provider whose
	// library is missing falls back to the CPU with a log line, see
	// docs/media.md#gpu), the GPU, and the intra-op threads (default 1
	// per session).
	onnxrt.Options `yaml:",inline"`
	Threshold      float64 `yaml:"threshold"` // per label; default 0.5
	// Truncate cuts texts longer than MaxLength instead of scoring them in
	// overlapping windows (the default), whose scores are pooled by the
	// maximum per label, so a flag anywhere in a long text counts.
	Truncate bool `yaml:"truncate"`
	// Stride is how many tokens a window starts after the last; default
	// half a window.
	Stride int `yaml:"stride"`
}

// Encoder is an ONNX classifier. It implements classifiers.Classifier.
type Encoder struct {
	// closeMu is held for reading while a batch runs, so that Close waits
	// for it rather than destroying a session in use.
	guard   onnxrt.Guard // a batch runs inside it; Close waits
	cfg     Config
	tok     tokenizer.Tokenizer
	session *ort.DynamicAdvancedSession
	inputs  []string // input_ids, attention_mask, token_type_ids (as the model has them)
	output  string
	labels  []string
	softmax bool
	desc    classifiers.Description
	// provider is the execution provider the session got (cpu when a GPU
	// provider fell back).
	provider string
	mu       sync.Mutex // ORT sessions run concurrently, but tensors are made per call; the lock bounds memory
}

// Library returns the ONNX Runtime library path to use (onnxrt.Library).
func Library(configured string) (string, error) { return onnxrt.Library(configured) }

type hfConfig struct {
	ID2Label    map[string]string `json:"id2label"`
	ProblemType string            `json:"problem_type"`
	MaxPos      int               `json:"max_position_embeddings"`
}

// readHFConfig reads config.json: the labels in id order and the problem
// type.
func readHFConfig(dir string) (hfConfig, []string, error) {
	var hc hfConfig
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return hc, nil, fmt.Errorf("encoder %s: %w", dir, err)
	}
	if err := json.Unmarshal(raw, &hc); err != nil {
		return hc, nil, fmt.Errorf("encoder %s: config.json: %w", dir, err)
	}
	if len(hc.ID2Label) == 0 {
		return hc, nil, fmt.Errorf("encoder %s: config.json has no id2label", dir)
	}
	labels := make([]string, len(hc.ID2Label))
	for k, v := range hc.ID2Label {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= len(labels) {
			return hc, nil, fmt.Errorf("encoder %s: config.json id2label key %q is not 0..%d", dir, k, len(labels)-1)
		}
		labels[i] = v
	}
	return hc, labels, nil
}

// Load opens a model directory.
func Load(cfg Config) (*Encoder, error) {
	lib, err := onnxrt.Init(cfg.Library)
	if err != nil {
		return nil, err
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 32
	}
	if cfg.Padding == "" {
		cfg.Padding = PadBuckets
	}
	if cfg.Threshold <= 0 {
		cfg.Threshold = 0.5
	}
	if cfg.Name == "" {
		cfg.Name = filepath.Base(cfg.Dir)
	}
	modelPath := filepath.Join(cfg.Dir, "model.onnx")
	tok, err := tokenizer.Load(filepath.Join(cfg.Dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("encoder %s: %w", cfg.Dir, err)
	}
	hc, labels, err := readHFConfig(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if cfg.MaxLength <= 0 {
		cfg.MaxLength = hc.MaxPos
		if cfg.MaxLength <= 0 {
			cfg.MaxLength = 512
		}
	}
	ins, outs, err := ort.GetInputOutputInfo(modelPath)
	if err != nil {
		return nil, fmt.Errorf("encoder %s: %w", modelPath, err)
	}
	e := &Encoder{cfg: cfg, tok: tok, labels: labels, softmax: hc.ProblemType != "multi_label_classification"}
	known := map[string]bool{"input_ids": true, "attention_mask": true, "token_type_ids": true}
	for _, in := range ins {
		if !known[in.Name] {
			return nil, fmt.Errorf("encoder %s: model input %q is not input_ids, attention_mask or token_type_ids", modelPath, in.Name)
		}
		e.inputs = append(e.inputs, in.Name)
	}
	if len(outs) == 0 {
		return nil, fmt.Errorf("encoder %s: model has no output", modelPath)
	}
	e.output = outs[0].Name
	for _, o := range outs {
		if o.Name == "logits" {
			e.output = o.Name
		}
	}
	threads := cfg.Threads
	if threads <= 0 {
		threads = 1
	}
	o := cfg.Options
	o.Threads = threads
	opts, provider, err := onnxrt.SessionOptions(o, lib, nil)
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	e.provider = provider
	s, err := ort.NewDynamicAdvancedSession(modelPath, e.inputs, []string{e.output}, opts)
	if err != nil {
		return nil, fmt.Errorf("encoder %s: %w", modelPath, err)
	}
	e.session = s
	model, _ := os.ReadFile(modelPath)
	th := map[string]float64{}
	for _, l := range labels {
		th[l] = cfg.Threshold
	}
	kind := classifiers.MultiClass
	if !e.softmax {
		kind = classifiers.MultiLabel
	}
	e.desc = classifiers.Description{Name: cfg.Name, Version: classifiers.ContentVersion(model), Kind: kind, Labels: labels, Thresholds: th}
	return e, nil
}

// Describe implements classifiers.Classifier.
func (e *Encoder) Describe() classifiers.Description { return e.desc }

// ErrClosed is returned by Classify after Close.
var ErrClosed = errors.New("encoder: closed")

// Close releases the session. A second Close does nothing: destroying an
// ONNX Runtime session twice would crash the process.
func (e *Encoder) Close() error {
	return e.guard.Close(func() error { return e.session.Destroy() })
}

// Classify implements classifiers.Classifier.
func (e *Encoder) Classify(ctx context.Context, texts []string) ([][]float32, error) {
	if !e.guard.Enter() {
		return nil, ErrClosed
	}
	defer e.guard.Exit()
	// One row per window; owner maps rows back to texts.
	var encs []tokenizer.Encoding
	owner := make([]int, 0, len(texts))
	for i, t := range texts {
		if e.cfg.Truncate {
			encs = append(encs, e.tok.Encode(t, e.cfg.MaxLength))
			owner = append(owner, i)
			continue
		}
		for _, w := range e.tok.Windows(t, e.cfg.MaxLength, e.cfg.Stride) {
			encs = append(encs, w)
			owner = append(owner, i)
		}
	}
	rows, err := e.classifyRows(ctx, encs)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	for r, i := range owner {
		if out[i] == nil {
			out[i] = rows[r]
			continue
		}
		for k, v := range rows[r] {
			out[i][k] = max(out[i][k], v)
		}
	}
	return out, nil
}

func (e *Encoder) classifyRows(ctx context.Context, encs []tokenizer.Encoding) ([][]float32, error) {
	order := make([]int, len(encs))
	for i := range order {
		order[i] = i
	}
	if e.cfg.Padding == PadBuckets {
		sort.SliceStable(order, func(a, b int) bool { return len(encs[order[a]].IDs) < len(encs[order[b]].IDs) })
	}
	out := make([][]float32, len(encs))
	for start := 0; start < len(order); start += e.cfg.BatchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idx := order[start:min(start+e.cfg.BatchSize, len(order))]
		seq := 0
		for _, i := range idx {
			seq = max(seq, len(encs[i].IDs))
		}
		if e.cfg.Padding == PadMax {
			seq = e.cfg.MaxLength
		}
		logits, err := e.run(encs, idx, seq)
		if err != nil {
			return nil, err
		}
		k := len(e.labels)
		for j, i := range idx {
			out[i] = e.activate(logits[j*k : (j+1)*k])
		}
	}
	return out, nil
}

// Tokens returns the token count of each text after truncation (for the
// batcher's and the benchmarks' cost estimates).
func (e *Encoder) Tokens(text string) int { return len(e.tok.Encode(text, e.cfg.MaxLength).IDs) }

func (e *Encoder) run(encs []tokenizer.Encoding, idx []int, seq int) ([]float32, error) {
	b := len(idx)
	shape := ort.NewShape(int64(b), int64(seq))
	data := map[string][]int64{}
	for _, name := range e.inputs {
		data[name] = make([]int64, b*seq)
	}
	for r, i := range idx {
		enc := encs[i]
		if d := data["input_ids"]; d != nil {
			copy(d[r*seq:], enc.IDs)
		}
		if d := data["attention_mask"]; d != nil {
			copy(d[r*seq:], enc.AttentionMask)
		}
		if d := data["token_type_ids"]; d != nil {
			copy(d[r*seq:], enc.TypeIDs)
		}
	}
	inputs := make([]ort.Value, len(e.inputs))
	for n, name := range e.inputs {
		t, err := ort.NewTensor(shape, data[name])
		if err != nil {
			return nil, err
		}
		defer t.Destroy()
		inputs[n] = t
	}
	outputs := []ort.Value{nil}
	if err := e.session.Run(inputs, outputs); err != nil {
		return nil, fmt.Errorf("onnx run: %w", err)
	}
	defer outputs[0].Destroy()
	t, ok := outputs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("onnx output %s is not float32", e.output)
	}
	if s := t.GetShape(); len(s) != 2 || s[0] != int64(b) || s[1] != int64(len(e.labels)) {
		return nil, fmt.Errorf("onnx output %s has shape %v, want [%d %d]", e.output, s, b, len(e.labels))
	}
	return append([]float32(nil), t.GetData()...), nil
}

func (e *Encoder) activate(z []float32) []float32 {
	p := make([]float32, len(z))
	if !e.softmax {
		for i, v := range z {
			p[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
		return p
	}
	mx := z[0]
	for _, v := range z {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range z {
		x := math.Exp(float64(v - mx))
		p[i] = float32(x)
		sum += x
	}
	for i := range p {
		p[i] = float32(float64(p[i]) / sum)
	}
	return p
}

// Provider is the execution provider the session runs on: cpu when the
// configured GPU provider fell back.
func (e *Encoder) Provider() string { return e.provider }
