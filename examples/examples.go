// Package examples holds ready configurations for Sieve's main uses,
// embedded so that `sieve demo --scenario NAME` runs them on any machine.
package examples

import "embed"

//go:embed reviews/sieve.yaml
var files embed.FS

// Reviews is the review-stream configuration (reviews/sieve.yaml).
func Reviews() []byte {
	b, _ := files.ReadFile("reviews/sieve.yaml")
	return b
}
