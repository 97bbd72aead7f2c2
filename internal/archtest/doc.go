// Package archtest holds the tests that keep Sieve's dependencies pointing
// the right way (docs/layout.md): the contract and the engine at the
// bottom, stage families and connectors above them, the app assembly and
// the CLI on top, training code out of the runtime.
package archtest
