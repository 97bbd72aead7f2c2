package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sieve-stream/sieve/service"
)

// runPromote prints (or, with --write, saves) sieve.yaml with its shadow
// classifiers live. Members restarted on it, one by one as a rolling
// restart does, score with the new models; a member stops by draining and
// committing, so no message is lost or, in exactly-once mode, duplicated.
func runPromote(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("promote", stderr)
	path := fs.String("c", "", "config file (sieve.yaml) with a shadow classifier")
	write := fs.Bool("write", false, "write the result back to the config file (default: print it)")
	cfg, err := parseWithConfig(fs, args, path)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(*path)
	if err != nil {
		return usageError{err}
	}
	out, err := service.Promote(data, cfg)
	if err != nil {
		return usagef("%s: %w", *path, err)
	}
	if !*write {
		_, err := stdout.Write(out)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(*path), ".sieve-promote-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *path); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "promoted the shadow classifiers of %s; restart the members (or roll them) to serve with them\n", *path)
	return nil
}
