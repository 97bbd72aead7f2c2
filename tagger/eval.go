package tagger

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

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
		var row struct {
			ID    string `json:"id"`
			Text  string `json:"text"`
			Spans []struct {
				Start int    `json:"start"`
				End   int    `json:"end"`
				Label string `json:"label"`
			} `json:"spans"`
		}
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

// PRF is one label's figures.
type PRF struct {
	Precision, Recall, F1 float64
	Support               int
}

// Evaluate scores the tagger on exact spans (start, end and label all
// equal), per label of the model. Surrounding whitespace and final
// punctuation of a gold span are not held against the tagger.
func Evaluate(m *Model, data []Example) map[string]PRF {
	tp, fp, fn := map[string]int{}, map[string]int{}, map[string]int{}
	type key struct {
		a, b int
		l    string
	}
	for _, ex := range data {
		want := map[key]bool{}
		for _, s := range ex.Spans {
			if contains(m.Labels, s.Label) {
				a, b := trim(ex.Text, s.Start, s.End)
				want[key{a, b, s.Label}] = true
			}
		}
		for _, s := range m.Tag(ex.Text) {
			k := key{s.Start, s.End, s.Label}
			if want[k] {
				tp[s.Label]++
				delete(want, k)
			} else {
				fp[s.Label]++
			}
		}
		for k := range want {
			fn[k.l]++
		}
	}
	out := map[string]PRF{}
	for _, l := range m.Labels {
		p, r := frac(tp[l], tp[l]+fp[l]), frac(tp[l], tp[l]+fn[l])
		f := 0.0
		if p+r > 0 {
			f = 2 * p * r / (p + r)
		}
		out[l] = PRF{p, r, f, tp[l] + fn[l]}
	}
	return out
}

func trim(text string, a, b int) (int, int) {
	for a < b && strings.ContainsRune(" \t\n", rune(text[a])) {
		a++
	}
	for b > a {
		r, n := utf8.DecodeLastRuneInString(text[a:b])
		if !strings.ContainsRune(" \t\n.,;:", r) {
			break
		}
		b -= n
	}
	return a, b
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
