package cascade

import (
	"fmt"

	"github.com/sieve-stream/sieve/classifiers"
)

func init() {
	classifiers.RegisterType(classifiers.Type{
		Name:    "cascade",
		Summary: "classifiers for the same labels, cheapest first; a text goes on while a score is uncertain",
		Config:  func() classifiers.TypeConfig { return &Type{} },
		Example: func() classifiers.TypeConfig {
			return &Type{Steps: []classifiers.Config{{Type: "rules"}, {Type: "linear"}}, Band: &Band{Low: 0.2, High: 0.8}}
		},
	})
}

// Type is the config of `type: cascade`.
type Type struct {
	// Steps are classifiers for the same labels, cheapest first; at least
	// two, none a cascade or nop.
	Steps []classifiers.Config `yaml:"steps"`
	// Band: a text goes on to the next step while a score lies inside it
	// (default 0.2–0.8).
	Band *Band `yaml:"band"`
	// Bands override Band per label.
	Bands map[string]Band `yaml:"bands"`
}

// EnsureDefaults implements classifiers.TypeConfig.
func (t *Type) EnsureDefaults() {
	if t.Band == nil {
		t.Band = &Band{Low: 0.2, High: 0.8}
	}
	for i := range t.Steps {
		t.Steps[i].EnsureDefaults()
	}
}

// Validate implements classifiers.TypeConfig.
func (t *Type) Validate() error {
	if len(t.Steps) < 2 {
		return fmt.Errorf("steps: a cascade needs at least two")
	}
	for j, st := range t.Steps {
		if st.Type == "cascade" || st.Type == "nop" || st.Type == "" {
			return fmt.Errorf("steps[%d].type: %q cannot be a cascade step", j, st.Type)
		}
	}
	return nil
}

// New implements classifiers.TypeConfig.
func (t *Type) New(build func(classifiers.Config) (classifiers.Classifier, error)) (classifiers.Classifier, error) {
	t.EnsureDefaults()
	steps := make([]Step, 0, len(t.Steps))
	for j, sc := range t.Steps {
		c, err := build(sc)
		if err != nil {
			return nil, fmt.Errorf("steps[%d].%w", j, err)
		}
		steps = append(steps, Step{Classifier: c, Default: *t.Band, Bands: t.Bands})
	}
	c, err := New(steps...)
	if err != nil {
		return nil, fmt.Errorf("steps: %w", err)
	}
	return c, nil
}
