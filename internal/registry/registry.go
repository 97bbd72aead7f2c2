// Package registry holds components of one kind by name: classifier
// types, rail scanners, rewriters, stores. Each registers itself from an
// init beside its code; configs name them, and errors and the generated
// docs list them.
package registry

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Of is the registry of one kind of component.
type Of[T any] struct {
	kind string
	mu   sync.RWMutex
	m    map[string]T
}

// New returns an empty registry; kind names the components in messages
// ("classifier type").
func New[T any](kind string) *Of[T] { return &Of[T]{kind: kind, m: map[string]T{}} }

// Register adds v under name. A second registration of a name panics: two
// packages claiming one name is a build error, not a runtime choice.
func (r *Of[T]) Register(name string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		panic(fmt.Sprintf("%s %q registered twice", r.kind, name))
	}
	r.m[name] = v
}

// Lookup returns the component registered under name.
func (r *Of[T]) Lookup(name string) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.m[name]
	return v, ok
}

// Names lists the registered names, sorted.
func (r *Of[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// All lists the components in the order of their names.
func (r *Of[T]) All() []T {
	names := r.Names()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]T, len(names))
	for i, n := range names {
		out[i] = r.m[n]
	}
	return out
}

// Choices is the names for a message: "a, b or c".
func (r *Of[T]) Choices() string { return Or(r.Names()) }

// Or joins items as a sentence does: "a", "a or b", "a, b or c".
func Or(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
