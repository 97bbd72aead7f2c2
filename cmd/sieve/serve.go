package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/classifiers/remote"
	"github.com/sieve-stream/sieve/service"
)

func runServeModel(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve-model", stderr)
	path := fs.String("c", "", "config file whose classifiers are served (default: the built-in models)")
	addr := fs.String("addr", ":8000", "listen address")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	cs, err := service.Classifiers(cfg)
	if err != nil {
		return usageError{err}
	}
	defer classifiers.CloseAll(cs)
	if len(cs) == 0 {
		return usagef("the config names no classifier to serve")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return usagef("--addr: %w", err)
	}
	srv := &http.Server{Handler: remote.NewHandler(cs...), ReadHeaderTimeout: 5 * time.Second}
	for _, c := range cs {
		d := c.Describe()
		fmt.Fprintf(stdout, "serving %s (%s, labels %v) at http://%s/v2/models/%s/infer\n", d.ID(), d.Kind, d.Labels, ln.Addr(), d.Name)
	}
	return serveUntilSignal(srv, ln)
}
