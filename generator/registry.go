package generator

import (
	"fmt"

	"github.com/sieve-stream/sieve/internal/registry"
)

// Kind is one rewriter a config can choose (`rewrite.generator`). Each
// registers itself beside its code (Register in an init).
type Kind struct {
	Name string
	// Summary is one line for the docs.
	Summary string
	// New builds the rewriter.
	New func(s Settings) (Rewriter, error)
}

// Settings is what a rewriter may be built from.
type Settings struct {
	// Judge is the model whose labels a rewrite must bring below their
	// thresholds, and Labels those labels.
	Judge  Attributor
	Labels []string
	// OpenAI is the rewrite.openai section; nil when absent.
	OpenAI *OpenAIConfig
}

var kinds = registry.New[Kind]("rewriter")

// Register adds a rewriter kind; it panics on a second of the same name.
func Register(k Kind) { kinds.Register(k.Name, k) }

// Kinds lists the registered rewriters by name.
func Kinds() []Kind { return kinds.All() }

// New builds the named rewriter.
func New(name string, s Settings) (Rewriter, error) {
	k, ok := kinds.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%q is not %s", name, kinds.Choices())
	}
	return k.New(s)
}

func init() {
	Register(Kind{Name: "embedded", Summary: "removes or masks the words the judge model attributes the flag to; no model server",
		New: func(s Settings) (Rewriter, error) { return &Embedded{Model: s.Judge, Labels: s.Labels}, nil }})
	Register(Kind{Name: "openai", Summary: "an OpenAI-compatible chat server (vLLM, llama.cpp, Ollama, TGI, OpenAI), configured by rewrite.openai",
		New: func(s Settings) (Rewriter, error) {
			if s.OpenAI == nil {
				return nil, fmt.Errorf("needs the rewrite.openai section")
			}
			return NewOpenAI(*s.OpenAI)
		}})
}
