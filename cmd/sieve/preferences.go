package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/generator"
	"github.com/sieve-stream/sieve/review"
)

// runExportPreferences writes the moderators' rewrite edits as preference
// pairs: the review items give the texts, the decisions the edits.
func runExportPreferences(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export-preferences", stderr)
	path := fs.String("c", "", "config file: read review.topic and review.decisions_topic from its Kafka")
	items := fs.String("items", "", "review records (JSONL) instead of the review topic")
	decisions := fs.String("decisions", "", "decision records (JSONL) instead of the decisions topic")
	out := fs.String("out", "-", "where to write the pairs (JSONL; - for stdout)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *path == "" && (*items == "" || *decisions == "") {
		return usagef("give -c sieve.yaml, or both --items and --decisions")
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	system := generator.DefaultPrompt
	if o := cfg.Rewrite.OpenAI; o != nil && o.Prompt != "" {
		system = o.Prompt
	}
	byID, ds, err := readReviewRecords(cfg, *path, *items, *decisions)
	if err != nil {
		return err
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
	bw := bufio.NewWriter(w)
	pairs := review.Preferences(byID, ds, system)
	for _, p := range pairs {
		b, _ := json.Marshal(p)
		bw.Write(append(b, '\n'))
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d preference pairs from %d decisions on %d items\n", len(pairs), len(ds), len(byID))
	return nil
}

// eachLine calls f with each non-empty line of a file.
func eachLine(path string, f func([]byte)) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			f(sc.Bytes())
		}
	}
	return sc.Err()
}

// readReviewRecords reads review items and decisions from files, or from
// the config's review topics where no file is given.
func readReviewRecords(cfg *config.Config, path, items, decisions string) (map[string]*review.Item, []review.Decision, error) {
	byID := map[string]*review.Item{}
	var ds []review.Decision
	addItem := func(b []byte) {
		if it, err := review.ParseItem(b, nil); err == nil {
			byID[it.ID] = it
		}
	}
	addDecision := func(b []byte) {
		if d, err := review.ParseDecision(b); err == nil && d.ID != "" {
			ds = append(ds, d)
		}
	}
	if items != "" {
		if err := eachLine(items, addItem); err != nil {
			return nil, nil, usagef("--items: %w", err)
		}
	}
	if decisions != "" {
		if err := eachLine(decisions, addDecision); err != nil {
			return nil, nil, usagef("--decisions: %w", err)
		}
	}
	if items == "" || decisions == "" {
		if err := cfg.Kafka.RequireBrokers(); err != nil {
			return nil, nil, usagef("%s: %w", path, err)
		}
		opts, err := kafka.ClientOptions(&cfg.Kafka, cfg.Kafka.Brokers)
		if err != nil {
			return nil, nil, usageError{err}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if items == "" {
			if err := review.ReadTopic(ctx, opts, cfg.Review.Topic, func(r *kgo.Record) { addItem(r.Value) }); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", cfg.Review.Topic, err)
			}
		}
		if decisions == "" {
			if err := review.ReadTopic(ctx, opts, cfg.Review.DecisionsTopic, func(r *kgo.Record) { addDecision(r.Value) }); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", cfg.Review.DecisionsTopic, err)
			}
		}
	}
	return byID, ds, nil
}
