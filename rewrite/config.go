package rewrite

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sieve-stream/sieve/generator"
	"github.com/sieve-stream/sieve/internal/registry"
)

// Config is the rewrite section of sieve.yaml: the rewrite stage (decision
// "rewrite").
type Config struct {
	Disabled bool `yaml:"disabled"` // turns the rewrite stage off: rewrite decisions then carry no rewritten text
	// Fallback when a rewrite fails its rails twice: block (default) or
	// mask.
	Fallback string `yaml:"fallback"`
	// Judge is the built-in model whose labels a rewrite must clear, and
	// whose word attributions the embedded rewriter uses (default
	// moderation).
	Judge string `yaml:"judge"`
	// Generator names the rewriter (generator.Kinds): embedded, or openai
	// (the default when the openai section is set).
	Generator string `yaml:"generator"`
	// OpenAI, when set, rewrites with an OpenAI-compatible chat server
	// (vLLM, llama.cpp, Ollama, TGI, OpenAI) instead of the embedded
	// rewriter.
	OpenAI *generator.OpenAIConfig `yaml:"openai"`
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.Fallback == "" {
		c.Fallback = "block"
	}
	if c.Judge == "" {
		c.Judge = "moderation"
	}
	if c.Generator == "" {
		c.Generator = "embedded"
		if c.OpenAI != nil {
			c.Generator = "openai"
		}
	}
}

// Validate returns the first bad field.
func (c *Config) Validate() error {
	if c.Fallback != "block" && c.Fallback != "mask" {
		return fmt.Errorf("rewrite.fallback: %q is not block or mask", c.Fallback)
	}
	if !slices.ContainsFunc(generator.Kinds(), func(k generator.Kind) bool { return k.Name == c.Generator }) {
		var names []string
		for _, k := range generator.Kinds() {
			names = append(names, k.Name)
		}
		return fmt.Errorf("rewrite.generator: %q is not %s", c.Generator, registry.Or(names))
	}
	if c.Generator == "openai" && c.OpenAI == nil {
		return errors.New("rewrite.openai: required for generator openai")
	}
	if o := c.OpenAI; o != nil && (o.BaseURL == "" || o.Model == "") {
		return errors.New("rewrite.openai: base_url and model are required")
	}
	return nil
}
