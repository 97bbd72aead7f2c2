package tagger

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/internal/datasetstest"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"My name is O'Brien.", []string{"My", "name", "is", "O'Brien", "."}},
		{"Maclean's song, I'm sure it isn't", []string{"Maclean", "'s", "song", ",", "I", "'m", "sure", "it", "isn", "'t"}},
		{"Jean-Luc lives at 221B Baker St., London", []string{"Jean-Luc", "lives", "at", "221B", "Baker", "St", ".", ",", "London"}},
		{"pay 3.50 on 12/05", []string{"pay", "3.50", "on", "12", "/", "05"}},
		{"  München\n\tZürich ", []string{"München", "Zürich"}},
		{"", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, tok := range Tokenize(tt.in) {
			if tt.in[tok.Start:tok.End] != tok.Text {
				t.Errorf("%q: token %q at [%d, %d)", tt.in, tok.Text, tok.Start, tok.End)
			}
			got = append(got, tok.Text)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A model learns a toy pattern and survives a save and a load unchanged.
func TestTrainSaveLoad(t *testing.T) {
	var data []Example
	for _, n := range []string{"Alice", "Bob", "Carol", "Dmitri", "Eve", "Farid"} {
		for _, tmpl := range []string{"I met %s today.", "%s called me.", "ask %s about it"} {
			text := strings.Replace(tmpl, "%s", n, 1)
			i := strings.Index(text, n)
			data = append(data, Example{Text: text, Spans: []Span{{Start: i, End: i + len(n), Label: "person"}}})
		}
	}
	m := Train(data, TrainOptions{Name: "toy", Labels: []string{"person"}, Epochs: 5, Seed: 1})
	got := m.Tag("I met Grace today.")
	if len(got) != 1 || got[0].Label != "person" || "I met Grace today."[got[0].Start:got[0].End] != "Grace" {
		t.Fatalf("tagged %+v", got)
	}
	var b bytes.Buffer
	if err := m.Save(&b); err != nil {
		t.Fatal(err)
	}
	l, err := Load(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if l.ID() != m.ID() || !reflect.DeepEqual(l.Tag("ask Zoe about it"), m.Tag("ask Zoe about it")) {
		t.Errorf("loaded model differs: %s vs %s", l.ID(), m.ID())
	}
	if _, err := Load([]byte("not a model")); err == nil {
		t.Error("garbage loaded")
	}
}

// The built-in tagger is what `make tagger` makes from the shared set: the
// same bytes, trained again here.
func TestBuiltinReproduces(t *testing.T) {
	path := filepath.Join(datasetstest.Dir(t, "pii_presidio_synth/train.jsonl"), "pii_presidio_synth", "train.jsonl")
	data, err := ReadSpans(path, "train")
	if err != nil {
		t.Fatal(err)
	}
	m := Train(data, TrainOptions{Name: "pii", Labels: DefaultLabels, Epochs: 10, Seed: 1})
	var b bytes.Buffer
	m.Save(&b)
	if !bytes.Equal(b.Bytes(), builtinPII) {
		t.Errorf("tagger/builtin/pii.tagger (%d bytes) is not what training gives (%d bytes): run make tagger", len(builtinPII), b.Len())
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(builtinPII[:200])
	f.Add([]byte(magic + "garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Load(b)
		if err == nil {
			m.Tag("John Smith lives in Paris")
		}
	})
}

// BenchmarkTag reports the built-in tagger's speed in tokens per second.
func BenchmarkTag(b *testing.B) {
	m, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	text := "My name is Priya Raman and I live at 42 Elm Street, Springfield. I work for Acme Corp in Boston; my manager John Smith wants the report by Friday."
	n := len(Tokenize(text))
	for b.Loop() {
		m.Tag(text)
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tokens/s")
}

// A source that does not annotate a label neither teaches the tagger that
// the label is absent nor punishes finding it.
func TestUnlabelledLabelsAreNotNegatives(t *testing.T) {
	var data []Example
	for _, n := range []string{"Alice", "Bob", "Carol", "Dmitri"} {
		for _, c := range []string{"Paris", "Rome", "Oslo"} {
			text := n + " flew to " + c + " today"
			data = append(data, Example{Text: text, Spans: []Span{{0, len(n), "person", 0}, {len(n) + 8, len(n) + 8 + len(c), "gpe", 0}}})
			// The same texts from a source that marks people only.
			data = append(data, Example{Text: text, Spans: []Span{{0, len(n), "person", 0}}, Unlabelled: []string{"gpe"}})
		}
	}
	m := Train(data, TrainOptions{Labels: []string{"person", "gpe"}, Epochs: 5, Seed: 1})
	got := m.Tag("Eve flew to Lima today")
	if len(got) != 2 || got[1].Label != "gpe" {
		t.Fatalf("tagged %+v; the people-only rows taught that places are not places", got)
	}
}

// Punctuation dropped from the end of an entity is not an entity itself,
// even when the tagger put it inside the entity.
func TestNoPunctuationEntities(t *testing.T) {
	m := newModel("t", []string{"person"})
	s := newSentence("Bob Smith. Hi")
	b, i := 1, 2 // B-person, I-person
	got := m.spans(s, []int{b, i, i, 0}, make([]float32, 4))
	if len(got) != 1 || "Bob Smith. Hi"[got[0].Start:got[0].End] != "Bob Smith" {
		t.Fatalf("spans %+v, want only \"Bob Smith\"", got)
	}
}
