package classifiers

// The rules type: the keyword/regex baseline (`type: rules`). This file is
// all a classifier type needs: its config, and a registration.
func init() {
	RegisterType(Type{
		Name:    "rules",
		Summary: "the keyword and regex baseline: transparent, cheap, and the floor trained models must beat",
		Config:  func() TypeConfig { return &RulesType{} },
	})
}

// RulesType is the config of `type: rules`.
type RulesType struct {
	// Rules is the rule set: a name, rules of keywords or patterns with a
	// label and a weight, and a flag threshold; default the built-in set
	// for spam and toxicity (classifiers.DefaultRules).
	Rules *RulesConfig `yaml:"rules"`
}

// EnsureDefaults implements TypeConfig.
func (r *RulesType) EnsureDefaults() {
	if r.Rules == nil {
		d := DefaultRules
		r.Rules = &d
	}
}

// Validate implements TypeConfig.
func (r *RulesType) Validate() error {
	_, err := r.New(nil)
	return err
}

// New implements TypeConfig.
func (r *RulesType) New(func(Config) (Classifier, error)) (Classifier, error) {
	r.EnsureDefaults()
	c, err := NewRules(*r.Rules)
	if err != nil {
		return nil, prefix("rules.", err)
	}
	return c, nil
}

func prefix(p string, err error) error { return &fieldError{p, err} }

// fieldError puts a field path before an error that names the rest of it.
type fieldError struct {
	path string
	err  error
}

func (e *fieldError) Error() string { return e.path + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }
