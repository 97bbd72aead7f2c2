// Package all links every classifier type Sieve ships, so that a program
// importing it can name them in a config: each type registers itself
// (classifiers.RegisterType) from its own package. rules and nop live in
// classifiers itself; linear in models, beside the built-in models it
// loads.
package all

import (
	_ "github.com/sieve-stream/sieve/classifiers/cascade"
	_ "github.com/sieve-stream/sieve/classifiers/encoder"
	_ "github.com/sieve-stream/sieve/classifiers/remote"
	_ "github.com/sieve-stream/sieve/models"
)
