package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sieve-stream/sieve/classifiers"
)

func init() {
	classifiers.RegisterType(classifiers.Type{
		Name:    "remote",
		Summary: "a model on a KServe v2 inference server (Triton, KServe, MLServer, `sieve serve-model`)",
		Config:  func() classifiers.TypeConfig { return &Type{} },
		Example: func() classifiers.TypeConfig {
			return &Type{Remote: &Config{URL: "http://triton:8000", Model: "toxicity"}}
		},
	})
}

// Type is the config of `type: remote`.
type Type struct {
	// Remote is the server and the model on it.
	Remote *Config `yaml:"remote"`
}

// EnsureDefaults implements classifiers.TypeConfig; Dial fills the rest.
func (*Type) EnsureDefaults() {}

// Validate implements classifiers.TypeConfig.
func (t *Type) Validate() error {
	if t.Remote == nil || t.Remote.URL == "" || t.Remote.Model == "" {
		return errors.New("remote: url and model are required for type remote")
	}
	return nil
}

// New implements classifiers.TypeConfig: it reads the model's metadata
// from the server, for at most 10 s.
func (t *Type) New(func(classifiers.Config) (classifiers.Classifier, error)) (classifiers.Classifier, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, *t.Remote)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	return c, nil
}
