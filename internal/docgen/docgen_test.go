package docgen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sieve-stream/sieve/config"
)

// The checked-in reference files are what the code generates now.
func TestCheckedInFilesAreCurrent(t *testing.T) {
	files, err := Files("../..")
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range files {
		got, err := os.ReadFile(filepath.Join("../..", p))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date: run go generate ./internal/docgen", p)
		}
	}
}

// The generated example is a config Sieve accepts.
func TestExampleLoads(t *testing.T) {
	files, err := Files("../..")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "sieve.yaml")
	if err := os.WriteFile(p, files["sieve.example.yaml"], 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Classifiers) != len(config.DefaultClassifiers) {
		t.Fatalf("%d classifiers in the example, want the %d defaults", len(c.Classifiers), len(config.DefaultClassifiers))
	}
}
