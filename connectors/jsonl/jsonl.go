// Package jsonl reads input messages from JSON Lines (a file or stdin) and
// writes verdicts as JSON Lines, so that every pipeline stage runs without a
// broker (sieve classify).
package jsonl

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strconv"
	"sync"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

// Source yields one record per line: topic = name, partition 0, offset =
// the 1-based line number. Blank lines are skipped but still counted.
type Source struct {
	name string
	r    *bufio.Reader
	line int64
	max  int
	eof  bool
}

// NewSource reads lines from r; name labels the records' topic.
func NewSource(name string, r io.Reader) *Source {
	return &Source{name: name, r: bufio.NewReaderSize(r, 1<<20), max: 1024}
}

// Poll implements pipeline.Source. It blocks for the first line only, then
// takes what is already buffered, so interactive stdin answers line by line.
func (s *Source) Poll(ctx context.Context) ([]*pipeline.Record, error) {
	if s.eof {
		return nil, io.EOF
	}
	var out []*pipeline.Record
	for len(out) < s.max {
		if err := ctx.Err(); err != nil {
			return out, nil
		}
		if len(out) > 0 && s.r.Buffered() == 0 {
			break
		}
		line, err := s.r.ReadBytes('\n')
		if len(line) > 0 {
			s.line++
			line = bytes.TrimRight(line, "\r\n")
			if len(bytes.TrimSpace(line)) > 0 {
				out = append(out, &pipeline.Record{
					Position: pipeline.Position{Partition: pipeline.Partition{Topic: s.name}, Offset: s.line},
					Value:    line,
				})
			}
		}
		if err != nil {
			s.eof = true
			if len(out) == 0 {
				return nil, io.EOF
			}
			break
		}
	}
	return out, nil
}

// Release implements pipeline.Source.
func (s *Source) Release() {}

// Commit implements pipeline.Source; a file has nothing to commit.
func (s *Source) Commit(context.Context, []pipeline.Commit) error { return nil }

// Pause implements pipeline.Source.
func (s *Source) Pause() {}

// Resume implements pipeline.Source.
func (s *Source) Resume() {}

// LineID is the contract's default id for a line: its line number.
func LineID(r *pipeline.Record) string { return strconv.FormatInt(r.Offset, 10) }

// Sink writes each output's value as one line, in the order handed over.
type Sink struct {
	// Only, when set, limits the lines to outputs of these topics; others
	// (rewrites, routed copies) are acknowledged without a line, so a file
	// keeps one line per input.
	Only map[string]bool

	mu sync.Mutex
	w  *bufio.Writer
	// err is the first write error; later writes fail with it.
	err error
}

// NewSink writes to w.
func NewSink(w io.Writer) *Sink { return &Sink{w: bufio.NewWriterSize(w, 64<<10)} }

// Produce implements pipeline.Sink; the output is acknowledged before it
// returns.
func (s *Sink) Produce(_ context.Context, out *pipeline.Output) {
	if s.Only != nil && !s.Only[out.Topic] {
		out.Ack(nil)
		return
	}
	s.mu.Lock()
	if s.err == nil {
		if _, err := s.w.Write(out.Value); err != nil {
			s.err = err
		} else if err := s.w.WriteByte('\n'); err != nil {
			s.err = err
		}
	}
	err := s.err
	s.mu.Unlock()
	out.Ack(err)
}

// Flush implements pipeline.Sink.
func (s *Sink) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	return s.w.Flush()
}

// ErrorLine is what classify writes for a line that cannot be classified:
// a verdict-shaped object with the contract's dead-letter reason in "error".
func ErrorLine(it *pipeline.Item) []byte {
	b := []byte(`{"v":1,"id":`)
	b = contract.AppendString(b, it.ID)
	b = append(b, `,"error":{"code":`...)
	b = contract.AppendString(b, string(it.Err.Code))
	b = append(b, `,"detail":`...)
	b = contract.AppendString(b, it.Err.Detail)
	b = append(b, `,"stage":`...)
	b = contract.AppendString(b, it.Err.Stage)
	return append(b, "}}"...)
}
