package models

import (
	"fmt"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/classifiers/linear"
)

func init() {
	classifiers.RegisterType(classifiers.Type{
		Name:    "linear",
		Summary: "a hashed n-gram model: one built into the binary, or a file from `sieve train`",
		Config:  func() classifiers.TypeConfig { return &LinearType{} },
		Example: func() classifiers.TypeConfig { return &LinearType{Builtin: "spam"} },
	})
}

// LinearType is the config of `type: linear`.
type LinearType struct {
	// Builtin names a model shipped in the binary (moderation, spam,
	// injection, toxicity, sentiment, review_category). One of builtin
	// and model.
	Builtin string `yaml:"builtin"`
	// Model is the path of a model file from `sieve train`.
	Model string `yaml:"model"`
	// Window and Stride: a text longer than Window words is scored as
	// windows of Window words every Stride words, each label at its
	// highest over them (0: the model's own, 32 and 16 unless it says
	// otherwise; -1 scores the whole text at once).
	Window int `yaml:"window"`
	Stride int `yaml:"stride"`
}

// EnsureDefaults implements classifiers.TypeConfig: the model file carries
// the defaults.
func (*LinearType) EnsureDefaults() {}

// Validate implements classifiers.TypeConfig.
func (l *LinearType) Validate() error {
	if (l.Builtin == "") == (l.Model == "") {
		return fmt.Errorf("builtin: type linear needs exactly one of builtin and model")
	}
	if l.Window < -1 || l.Window == 1 {
		return fmt.Errorf("window: %d is not -1 (whole text) or at least 2 words", l.Window)
	}
	if l.Stride < 0 || (l.Window > 0 && l.Stride > l.Window) {
		return fmt.Errorf("stride: %d is not between 1 and the window", l.Stride)
	}
	return nil
}

// New implements classifiers.TypeConfig.
func (l *LinearType) New(func(classifiers.Config) (classifiers.Classifier, error)) (classifiers.Classifier, error) {
	var m *linear.Model
	var err error
	if l.Builtin != "" {
		if m, err = Builtin(l.Builtin); err != nil {
			return nil, fmt.Errorf("builtin: %w", err)
		}
	} else if m, err = linear.Load(l.Model); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if l.Window != 0 || l.Stride != 0 {
		m = m.WithWindow(l.Window, l.Stride)
	}
	return m, nil
}
