package classifiers

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/sieve-stream/sieve/internal/registry"
	"gopkg.in/yaml.v3"
)

// TypeConfig is the config of one classifier type: the fields of its
// `classifiers:` entry beyond type, categories and abstain_below. It is a
// pointer to a struct whose yaml tags name the fields and whose field
// comments document them (docs/config.md is generated from them).
type TypeConfig interface {
	// EnsureDefaults fills the fields left unset.
	EnsureDefaults()
	// Validate returns the first bad field, its path relative to the
	// entry first ("window: 1 is not ...").
	Validate() error
	// New builds the classifier; nil with no error scores nothing. Nested
	// entries (a cascade's steps) are built with build.
	New(build func(Config) (Classifier, error)) (Classifier, error)
}

// Type is one kind of classifier a config can name (`type: rules`).
// Each registers itself from its own package (RegisterType in an init), so
// that adding a type is one file; the config, its validation, the "is not
// one of" errors and the generated docs all read this registry.
type Type struct {
	Name string
	// Summary is one line for the docs.
	Summary string
	// Config returns a new, empty config of the type.
	Config func() TypeConfig
	// Example is the type's config in the generated example file; nil: the
	// defaults.
	Example func() TypeConfig
}

var types = registry.New[Type]("classifier type")

// RegisterType adds a classifier type. It panics on a second type of the
// same name: two packages claiming one name is a build error.
func RegisterType(t Type) { types.Register(t.Name, t) }

// LookupType returns the registered type of that name.
func LookupType(name string) (Type, bool) { return types.Lookup(name) }

// Types lists the registered types by name.
func Types() []Type { return types.All() }

// TypeNames is the registered names for an error message: "cascade,
// linear, nop, onnx, remote or rules".
func TypeNames() string { return types.Choices() }

// Config is one entry of `classifiers:` in sieve.yaml: a type, the fields
// every type shares, and the type's own fields (Spec).
type Config struct {
	// Type names a registered classifier type.
	Type string `yaml:"type"`
	// Categories makes a multi-class model (an ONNX export or remote model
	// of a user's taxonomy) a categories model: verdicts name its most
	// probable label, "other" below AbstainBelow, and its labels never
	// flag. Built-in and trained categories models carry this themselves.
	Categories   bool    `yaml:"categories"`
	AbstainBelow float64 `yaml:"abstain_below"`
	// Shadow runs the classifier beside the live ones without touching a
	// verdict: where its flags differ, a record goes to kafka.topics.shadow
	// and sieve_shadow_* count agreement per label (a candidate model tried
	// on real traffic before it goes live).
	Shadow bool `yaml:"shadow"`
	// Spec holds the type's own fields (a Type.Config); nil until the
	// entry is decoded or defaulted.
	Spec TypeConfig `yaml:"-"`
}

// commonKeys are the yaml keys of Config itself.
var commonKeys = []string{"type", "categories", "abstain_below", "shadow"}

// UnmarshalYAML reads the common fields, then the rest of the mapping into
// the type's config, refusing keys the type does not have.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a classifier is a mapping with a type", n.Line)
	}
	common := &yaml.Node{Kind: yaml.MappingNode}
	rest := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		dst := rest
		if slices.Contains(commonKeys, n.Content[i].Value) {
			dst = common
		}
		dst.Content = append(dst.Content, n.Content[i], n.Content[i+1])
	}
	type plain Config // without this method
	var p plain
	if err := common.Decode(&p); err != nil {
		return err
	}
	*c = Config(p)
	t, ok := LookupType(c.Type)
	if !ok {
		return nil // Validate names the unknown type; its fields cannot be read without it
	}
	c.Spec = t.Config()
	if err := checkKnown(rest, c.Spec, c.Type); err != nil {
		return err
	}
	return rest.Decode(c.Spec)
}

// checkKnown refuses a key that spec has no field for, as a strict yaml
// decoder would.
func checkKnown(n *yaml.Node, spec any, typ string) error {
	known := yamlKeys(reflect.TypeOf(spec))
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(known, k.Value) {
			errs = append(errs, fmt.Sprintf("line %d: field %s not found in classifier type %s", k.Line, k.Value, typ))
		}
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}

func yamlKeys(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case tag == "-" || !f.IsExported():
		case strings.Contains(f.Tag.Get("yaml"), ",inline"):
			out = append(out, yamlKeys(f.Type)...)
		case tag == "":
			out = append(out, strings.ToLower(f.Name))
		default:
			out = append(out, tag)
		}
	}
	return out
}

// MarshalYAML writes the entry flat, as sieve.yaml has it.
func (c Config) MarshalYAML() (any, error) {
	n := &yaml.Node{}
	type plain Config
	if err := n.Encode(plain(c)); err != nil {
		return nil, err
	}
	if c.Spec != nil {
		var s yaml.Node
		if err := s.Encode(c.Spec); err != nil {
			return nil, err
		}
		if s.Kind == yaml.MappingNode {
			n.Content = append(n.Content, s.Content...)
		}
	}
	return n, nil
}

// EnsureDefaults gives a known type its config and that config its
// defaults.
func (c *Config) EnsureDefaults() {
	t, ok := LookupType(c.Type)
	if !ok {
		return
	}
	if c.Spec == nil {
		c.Spec = t.Config()
	}
	c.Spec.EnsureDefaults()
}

// ErrUnknownType is wrapped by the error of an entry whose type no package
// registered.
var ErrUnknownType = errors.New("unknown classifier type")

// Validate returns the entry's first bad field, its path relative to the
// entry.
func (c *Config) Validate() error {
	if _, ok := LookupType(c.Type); !ok {
		return fmt.Errorf("type: %q is not %s: %w", c.Type, TypeNames(), ErrUnknownType)
	}
	if c.Spec == nil {
		c.EnsureDefaults()
	}
	if c.AbstainBelow < 0 || c.AbstainBelow > 1 {
		return fmt.Errorf("abstain_below: %v is not between 0 and 1", c.AbstainBelow)
	}
	return c.Spec.Validate()
}

// New builds the entry's classifier (nil for a type that scores nothing),
// as a categories model when Categories is set. Errors start with the
// field path relative to the entry.
func (c Config) New() (Classifier, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cl, err := c.Spec.New(func(sub Config) (Classifier, error) {
		sub.EnsureDefaults()
		return sub.New()
	})
	if err != nil || cl == nil || !c.Categories {
		return cl, err
	}
	if cl, err = AsCategories(cl, c.AbstainBelow); err != nil {
		return nil, fmt.Errorf("categories: %w", err)
	}
	return cl, nil
}
