package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/sieve-stream/sieve/bench"
	"github.com/sieve-stream/sieve/guardrails"
)

// runBenchProxy is `sieve bench proxy`: the chat proxy in process in front
// of a local stand-in upstream, JSON and streamed.
func runBenchProxy(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench proxy", stderr)
	path := fs.String("c", "", "config file: its proxy section and guardrails policy (default: built-in defaults and a representative rails policy)")
	requests := fs.Int("requests", 2000, "requests per mode (JSON, streamed)")
	concurrency := fs.Int("concurrency", 8, "clients at once")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	var p *guardrails.Policy
	if cfg.Guardrails.Policy != "" {
		if p, err = guardrails.LoadPolicy(cfg.Guardrails.Policy); err != nil {
			return usageError{err}
		}
	} else if p, err = guardrails.ParsePolicy([]byte(bench.DefaultProxyRails)); err != nil {
		return err
	}
	res, err := bench.Proxy(context.Background(), bench.ProxyOptions{Config: cfg.Proxy, Rails: guardrails.NewEngine(p),
		Requests: *requests, Concurrency: *concurrency})
	if err != nil {
		return err
	}
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "%d requests per mode, %d at once, against a local stand-in upstream\n", *requests, *concurrency)
	fmt.Fprintf(stdout, "%-9s %10s %12s %8s %8s %11s %11s %7s\n", "mode", "req/s", "direct req/s", "p50 ms", "p99 ms", "added p50", "added p99", "errors")
	for _, m := range []struct {
		name string
		r    bench.ProxyMode
	}{{"json", res.JSON}, {"streamed", res.Streamed}} {
		fmt.Fprintf(stdout, "%-9s %10.0f %12.0f %8.2f %8.2f %11.2f %11.2f %7d\n", m.name, m.r.ReqPerSec, m.r.DirectPerSec, m.r.P50ms, m.r.P99ms, m.r.AddedP50ms, m.r.AddedP99ms, m.r.Errors)
	}
	if res.JSON.Errors+res.Streamed.Errors > 0 {
		return fmt.Errorf("%d requests failed", res.JSON.Errors+res.Streamed.Errors)
	}
	return nil
}
