// Package models holds Sieve's built-in trained models, embedded in the
// binary so that nothing is downloaded: spam, toxicity (hate_speech,
// offensive_language), injection (jailbreak, prompt_injection,
// harmful_request), and two review categories models: sentiment (negative,
// positive) and review_category (clothing departments). `make models`
// rebuilds them bit for bit from ../shared/datasets and the SpamAssassin
// corpus.
package models

import (
	"embed"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/sieve-stream/sieve/classifiers/linear"
)

//go:embed builtin
var files embed.FS

var (
	mu     sync.Mutex
	loaded = map[string]*linear.Model{}
)

// Builtin returns the named built-in model, decoded once per process.
func Builtin(name string) (*linear.Model, error) {
	mu.Lock()
	defer mu.Unlock()
	if m, ok := loaded[name]; ok {
		return m, nil
	}
	b, err := files.ReadFile("builtin/" + name + ".sieve")
	if err != nil {
		return nil, fmt.Errorf("no built-in model %q (have %s)", name, strings.Join(Names(), ", "))
	}
	m, err := linear.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("built-in model %s: %w", name, err)
	}
	loaded[name] = m
	return m, nil
}

// Names lists the built-in models.
func Names() []string {
	entries, _ := files.ReadDir("builtin")
	var out []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".sieve"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
