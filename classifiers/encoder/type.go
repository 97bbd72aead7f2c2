package encoder

import (
	"errors"
	"fmt"

	"github.com/sieve-stream/sieve/classifiers"
)

func init() {
	classifiers.RegisterType(classifiers.Type{
		Name:    "onnx",
		Summary: "a Hugging Face export (model.onnx, tokenizer.json, config.json) on ONNX Runtime",
		Config:  func() classifiers.TypeConfig { return &Type{} },
		Example: func() classifiers.TypeConfig {
			return &Type{ONNX: &Config{Dir: "models/toxic-bert", Padding: PadBuckets}}
		},
	})
}

// Type is the config of `type: onnx`.
type Type struct {
	// ONNX is the exported model's directory and how to run it.
	ONNX *Config `yaml:"onnx"`
}

// EnsureDefaults implements classifiers.TypeConfig; Load fills the rest
// from the model's own files.
func (*Type) EnsureDefaults() {}

// Validate implements classifiers.TypeConfig.
func (t *Type) Validate() error {
	if t.ONNX == nil || t.ONNX.Dir == "" {
		return errors.New("onnx.dir: required for type onnx")
	}
	if err := t.ONNX.Options.Validate("onnx"); err != nil {
		return err
	}
	switch t.ONNX.Padding {
	case "", PadBuckets, PadBatch, PadMax:
	default:
		return fmt.Errorf("onnx.padding: %q is not buckets, batch or max", t.ONNX.Padding)
	}
	return nil
}

// New implements classifiers.TypeConfig.
func (t *Type) New(func(classifiers.Config) (classifiers.Classifier, error)) (classifiers.Classifier, error) {
	e, err := Load(*t.ONNX)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return e, nil
}
