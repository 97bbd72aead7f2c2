package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/sieve-stream/sieve/connectors/jsonl"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/service"
)

func runClassify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("classify", stderr)
	path := fs.String("c", "", "config file (default: built-in defaults)")
	in := fs.String("in", "-", "input JSONL file, - for stdin")
	out := fs.String("out", "-", "output JSONL file, - for stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	app, err := service.NewApp(cfg, service.StageOptions{})
	if err != nil {
		return usageError{err}
	}
	defer app.Close()
	stages := app.Stages
	var r io.Reader = os.Stdin
	name := "stdin"
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return usagef("--in: %w", err)
		}
		defer f.Close()
		r, name = f, *in
	}
	var w io.Writer = stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return usagef("--out: %w", err)
		}
		defer f.Close()
		w = f
	}
	obs, err := observe(cfg, stderr)
	if err != nil {
		return usageError{err}
	}
	defer obs.close()
	sink := jsonl.NewSink(w)
	// One line per input: the verdict, or the error line (topic "").
	sink.Only = map[string]bool{cfg.Kafka.Topics.Verdicts: true, "": true}
	opts := service.EngineOptions(cfg, stages, obs.metrics, obs.log)
	opts.DefaultID = jsonl.LineID
	// A line that cannot be classified still gets its line in the output,
	// in order, carrying the dead-letter reason.
	opts.DeadLetter = func(it *pipeline.Item) pipeline.Output {
		return pipeline.Output{Value: jsonl.ErrorLine(it)}
	}
	ctx, cancel := signalContext()
	defer cancel()
	if err := pipeline.New(jsonl.NewSource(name, r), sink, opts).Run(ctx); err != nil {
		return err
	}
	if err := sink.Flush(context.Background()); err != nil {
		return fmt.Errorf("write verdicts: %w", err)
	}
	return nil
}
