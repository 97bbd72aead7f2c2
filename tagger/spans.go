package tagger

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/sieve-stream/sieve/datasets"
)

// ReadSpans reads a labelled span file (JSONL: id, text, spans with
// code-point offsets, End exclusive), keeping the rows of part ("train",
// "dev", "test"; "" for all), with offsets turned into bytes.
func ReadSpans(path, part string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Example
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		var row datasets.SpanRow
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if part != "" && datasets.PartOf(row.ID) != part {
			continue
		}
		ex := Example{Text: row.Text}
		for _, s := range row.Spans {
			a, b, ok := byteOffsets(row.Text, s.Start, s.End)
			if !ok {
				return nil, fmt.Errorf("%s:%d: span [%d, %d) is outside the text", path, line, s.Start, s.End)
			}
			ex.Spans = append(ex.Spans, Span{Start: a, End: b, Label: s.Label})
		}
		out = append(out, ex)
	}
	return out, sc.Err()
}

// byteOffsets turns code-point offsets into byte offsets.
func byteOffsets(text string, start, end int) (int, int, bool) {
	if start < 0 || end < start {
		return 0, 0, false
	}
	a, b := -1, -1
	i := 0
	for k := range text {
		if i == start {
			a = k
		}
		if i == end {
			b = k
		}
		i++
	}
	if i == start {
		a = len(text)
	}
	if i == end {
		b = len(text)
	}
	return a, b, a >= 0 && b >= 0
}
