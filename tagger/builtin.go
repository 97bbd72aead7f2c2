package tagger

import (
	_ "embed"
	"sync"
)

// builtinPII is the built-in tagger: trained by `make tagger` on the #train
// part of the shared Presidio set (docs/models.md#pii-tagger).
//
//go:embed builtin/pii.tagger
var builtinPII []byte

var (
	builtinOnce  sync.Once
	builtinModel *Model
	builtinErr   error
)

// Builtin returns the built-in PII tagger, loaded once.
func Builtin() (*Model, error) {
	builtinOnce.Do(func() { builtinModel, builtinErr = Load(builtinPII) })
	return builtinModel, builtinErr
}
