package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sieve-stream/sieve/vision/tfjs"
)

// runConvert turns a model of another framework into ONNX. Only TF.js
// layers models convert today (`sieve convert tfjs DIR --out model.onnx`).
func runConvert(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "tfjs" {
		return usagef("usage: sieve convert tfjs DIR --out model.onnx (DIR holds model.json or nsfwjs's model.min.js)")
	}
	fs := newFlags("convert tfjs", stderr)
	out := fs.String("out", "", "the ONNX file to write")
	// The directory may come before or after the flags.
	rest := args[1:]
	var dir string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		dir, rest = rest[0], rest[1:]
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	if dir == "" && fs.NArg() == 1 {
		dir = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usagef("one model directory, then --out")
	}
	if dir == "" || *out == "" {
		return usagef("usage: sieve convert tfjs DIR --out model.onnx")
	}
	m, err := tfjs.Read(dir)
	if err != nil {
		return usageError{err}
	}
	c, err := tfjs.Convert(m)
	if err != nil {
		return usageError{err}
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, c.ONNX, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	var kinds []string
	for k, n := range c.Layers {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	fmt.Fprintf(stdout, "wrote %s (%.1f MB): input %s [batch, %d, %d, 3], %d batch normalisations folded; layers: %s\n",
		*out, float64(len(c.ONNX))/1e6, c.Input, c.Height, c.Width, c.Folded, strings.Join(kinds, ", "))
	return nil
}
