// Command sieve is Sieve's one binary. Each subcommand wires config to
// parts and nothing else; the behaviour lives in the packages it names.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/sieve-stream/sieve/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// usageError marks an error of the command line or config: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"demo", "run the whole pipeline on embedded defaults with synthetic traffic and a live line", runDemo},
	{"run", "run the pipeline against the configured Kafka (-c sieve.yaml)", runRun},
	{"classify", "classify JSONL messages from a file or stdin to JSONL verdicts, no Kafka", runClassify},
	{"train", "train a linear model on labelled JSONL", runTrain},
	{"eval", "evaluate the configured models on labelled JSONL", runEval},
	{"proxy", "an OpenAI-compatible gateway with the guardrails' input and output rails (-c sieve.yaml)", runProxy},
	{"export-preferences", "the moderators' edits of rewrites as DPO pairs (prompt/chosen/rejected JSONL for TRL's DPOTrainer)", runExportPreferences},
	{"promote", "make the shadow classifiers of sieve.yaml live, replacing the models they cover (-c sieve.yaml [--write])", runPromote},
	{"replay", "re-read the input topics from a time under this config, as a new consumer group, until caught up (-c sieve.yaml --from-time T --group NAME)", runReplay},
	{"review", "the moderators' console: the review topic's items, decided by keyboard, decisions to Kafka (-c sieve.yaml)", runReview},
	{"convert", "convert a TF.js layers model to ONNX (convert tfjs DIR --out model.onnx)", runConvert},
	{"serve-model", "serve the configured classifiers over the Open Inference Protocol (KServe v2)", runServeModel},
	{"bench", "benchmark the pipeline end to end through an embedded broker (bench proxy: the chat proxy against a local upstream)", runBench},
	{"version", "print the version", runVersion},
}

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs one subcommand and returns the exit status of the contract:
// 0 on success, 1 on a runtime failure, 2 on a usage or config error.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(usageError)):
			fmt.Fprintf(stderr, "sieve %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "sieve %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "sieve: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Sieve: a streaming moderation and classification pipeline.\n\nUsage: sieve <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'sieve <command> -h' for a command's flags.")
}

func runVersion(args []string, stdout, _ io.Writer) error {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v = "dev-" + s.Value[:12]
			}
		}
	}
	fmt.Fprintf(stdout, "sieve %s\n", v)
	return nil
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sieve "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags, turning flag errors into usage errors.
// parseWithConfig parses args and loads the config file that -c names,
// which the command requires.
func parseWithConfig(fs *flag.FlagSet, args []string, path *string) (*config.Config, error) {
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if *path == "" {
		return nil, usagef("-c sieve.yaml is required")
	}
	return loadConfig(*path)
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
