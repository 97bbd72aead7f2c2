package linear

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/sieve-stream/sieve/classifiers"
)

// The model file: gzip of
//
//	magic "SIEVELIN" | format uint32 | header length uint32 | header JSON |
//	weights int16 × dims × classes | scales float32 × classes | bias float32 × classes |
//	dense head (Dense.Encode), when the header's dense_bytes says so
//
// all little-endian. The version is the content hash of the file's bytes, so
// equal files are equal models and a retrained model gets a new version.
const (
	magic      = "SIEVELIN"
	fileFormat = 1
	// maxHeader and the dims bound keep a corrupt file from asking for
	// absurd allocations.
	maxHeader = 1 << 20
)

type header struct {
	Name       string             `json:"name"`
	Kind       classifiers.Kind   `json:"kind"`
	Classes    []string           `json:"classes"`
	Thresholds map[string]float64 `json:"thresholds"`
	DimsLog2   int                `json:"dims_log2"`
	Meta       map[string]string  `json:"meta,omitempty"`
	// Added after format 1 shipped; absent means false and 0.
	Categories   bool    `json:"categories,omitempty"`
	AbstainBelow float64 `json:"abstain_below,omitempty"`
	// Added later still; absent means none.
	Parents    map[string]string `json:"parents,omitempty"`
	Context    bool              `json:"context,omitempty"`
	LongWindow int               `json:"long_window,omitempty"`
	// DenseBytes, when above zero, is the length of a dense head's
	// section after the biases (see Dense.Encode).
	DenseBytes int `json:"dense_bytes,omitempty"`
}

// Encode returns the model file's bytes.
func (m *Model) Encode() []byte {
	var raw bytes.Buffer
	raw.WriteString(magic)
	binary.Write(&raw, binary.LittleEndian, uint32(fileFormat))
	h := header{Name: m.Name, Kind: m.Kind, Classes: m.Classes, Thresholds: m.Thresholds, DimsLog2: log2(m.Dims), Meta: m.Meta,
		Categories: m.Categories, AbstainBelow: m.AbstainBelow, Parents: m.Parents, Context: m.Context, LongWindow: m.LongWindow}
	var dense []byte
	if m.Dense != nil {
		dense = m.Dense.Encode()
		h.DenseBytes = len(dense)
	}
	hb, _ := json.Marshal(h) // map keys are sorted: deterministic
	binary.Write(&raw, binary.LittleEndian, uint32(len(hb)))
	raw.Write(hb)
	binary.Write(&raw, binary.LittleEndian, m.Weights)
	binary.Write(&raw, binary.LittleEndian, m.Scales)
	binary.Write(&raw, binary.LittleEndian, m.Bias)
	raw.Write(dense)
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	zw.Write(raw.Bytes())
	zw.Close()
	return out.Bytes()
}

// Seal fixes the model's version from its encoded bytes and returns them.
func (m *Model) Seal() []byte {
	b := m.Encode()
	m.version = classifiers.ContentVersion(b)
	return b
}

// Save writes the model to path.
func (m *Model) Save(path string) error {
	if err := os.WriteFile(path, m.Seal(), 0o644); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// Load reads a model file. Every error names the file.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	m, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return m, nil
}

// ErrCorrupt is wrapped by every error about a malformed model file.
var ErrCorrupt = errors.New("corrupt model file")

// Decode parses model file bytes.
func Decode(b []byte) (*Model, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: not gzip: %v", ErrCorrupt, err)
	}
	// Bound what a corrupt or hostile file can make us inflate.
	raw, err := io.ReadAll(io.LimitReader(zr, 512<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	r := bytes.NewReader(raw)
	mg := make([]byte, len(magic))
	if _, err := io.ReadFull(r, mg); err != nil || string(mg) != magic {
		return nil, fmt.Errorf("%w: not a Sieve linear model (bad magic)", ErrCorrupt)
	}
	var format, hlen uint32
	if err := binary.Read(r, binary.LittleEndian, &format); err != nil {
		return nil, fmt.Errorf("%w: truncated header", ErrCorrupt)
	}
	if format != fileFormat {
		return nil, fmt.Errorf("%w: format %d, this build reads %d", ErrCorrupt, format, fileFormat)
	}
	if err := binary.Read(r, binary.LittleEndian, &hlen); err != nil || hlen > maxHeader || int(hlen) > r.Len() {
		return nil, fmt.Errorf("%w: truncated header", ErrCorrupt)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("%w: truncated header", ErrCorrupt)
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	switch h.Kind {
	case classifiers.Binary, classifiers.MultiClass, classifiers.MultiLabel:
	default:
		return nil, fmt.Errorf("%w: unknown kind %q", ErrCorrupt, h.Kind)
	}
	k := len(h.Classes)
	if h.Categories && h.Kind != classifiers.MultiClass {
		return nil, fmt.Errorf("%w: a categories model must be multi-class", ErrCorrupt)
	}
	if h.AbstainBelow < 0 || h.AbstainBelow > 1 || math.IsNaN(h.AbstainBelow) {
		return nil, fmt.Errorf("%w: abstain_below %v is not in [0, 1]", ErrCorrupt, h.AbstainBelow)
	}
	if h.LongWindow < 0 || h.LongWindow == 1 || h.LongWindow > 4096 {
		return nil, fmt.Errorf("%w: long_window %d", ErrCorrupt, h.LongWindow)
	}
	for child, parent := range h.Parents {
		if !slices.Contains(h.Classes, child) || !slices.Contains(h.Classes, parent) || child == parent {
			return nil, fmt.Errorf("%w: parent %q of %q is not another class", ErrCorrupt, parent, child)
		}
	}
	if k == 0 || k > 1024 || h.DimsLog2 < 10 || h.DimsLog2 > 24 {
		return nil, fmt.Errorf("%w: %d classes, dims 2^%d", ErrCorrupt, k, h.DimsLog2)
	}
	dims := uint32(1) << h.DimsLog2
	want := int(dims)*k*2 + k*8
	if h.DenseBytes < 0 || r.Len() != want+h.DenseBytes {
		return nil, fmt.Errorf("%w: %d bytes of weights, want %d (truncated?)", ErrCorrupt, r.Len(), want+max(h.DenseBytes, 0))
	}
	m := &Model{Name: h.Name, Kind: h.Kind, Classes: h.Classes, Thresholds: h.Thresholds, Dims: dims, Meta: h.Meta,
		Categories: h.Categories, AbstainBelow: h.AbstainBelow, Parents: h.Parents, Context: h.Context, LongWindow: h.LongWindow,
		Weights: make([]int16, int(dims)*k), Scales: make([]float32, k), Bias: make([]float32, k)}
	binary.Read(r, binary.LittleEndian, m.Weights)
	binary.Read(r, binary.LittleEndian, m.Scales)
	binary.Read(r, binary.LittleEndian, m.Bias)
	for c := range k {
		if math.IsNaN(float64(m.Scales[c])) || math.IsInf(float64(m.Scales[c]), 0) || math.IsNaN(float64(m.Bias[c])) {
			return nil, fmt.Errorf("%w: class %d has a non-finite scale or bias", ErrCorrupt, c)
		}
	}
	if h.DenseBytes > 0 {
		d, err := readDense(r, true)
		if err != nil {
			return nil, err
		}
		if err := m.SetDense(d); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
	}
	if m.Thresholds == nil {
		m.Thresholds = map[string]float64{}
	}
	labels := m.Labels()
	for _, l := range labels {
		if _, ok := m.Thresholds[l]; !ok {
			m.Thresholds[l] = 0.5
		}
	}
	m.version = classifiers.ContentVersion(b)
	return m, nil
}

func log2(n uint32) int {
	k := 0
	for n > 1 {
		n >>= 1
		k++
	}
	return k
}
