package cascade

import (
	"context"
	"testing"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

// fixed scores each text from a table and counts what it saw.
type fixed struct {
	name   string
	labels []string
	table  map[string][]float32
	seen   int
}

func (f *fixed) Describe() classifiers.Description {
	return classifiers.Description{Name: f.name, Version: "1", Kind: classifiers.MultiLabel, Labels: f.labels,
		Thresholds: map[string]float64{"spam": 0.5}}
}

func (f *fixed) Classify(_ context.Context, texts []string) ([][]float32, error) {
	f.seen += len(texts)
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = f.table[t]
	}
	return out, nil
}

func TestEscalatesOnlyUncertainTexts(t *testing.T) {
	cheap := &fixed{name: "linear", labels: []string{"spam"}, table: map[string][]float32{
		"sure spam": {0.97}, "sure ham": {0.02}, "unsure": {0.55}, "unsure low": {0.3}}}
	// The cheap model scores more labels, in another order.
	cheap.labels = []string{"toxic", "spam"}
	for k, v := range cheap.table {
		cheap.table[k] = []float32{0.01, v[0]}
	}
	costly := &fixed{name: "encoder", labels: []string{"spam"}, table: map[string][]float32{
		"unsure": {0.91}, "unsure low": {0.05}}}
	c, err := New(Step{Classifier: cheap, Default: Band{Low: 0.25, High: 0.75}}, Step{Classifier: costly})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"sure spam", "sure ham", "unsure", "unsure low"}
	scores, by, err := c.ClassifyAttributed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0.97, 0.02, 0.91, 0.05}
	wantBy := []string{"linear@1", "linear@1", "encoder@1", "encoder@1"}
	for i := range texts {
		if scores[i][0] != want[i] || by[i] != wantBy[i] {
			t.Errorf("%q: %v by %s, want %v by %s", texts[i], scores[i], by[i], want[i], wantBy[i])
		}
	}
	if costly.seen != 2 {
		t.Fatalf("the costly model saw %d texts, want 2", costly.seen)
	}
	if r := c.Reached(); r[0] != 4 || r[1] != 2 {
		t.Fatalf("reached %v", r)
	}
	// Through the classify stage, the verdict names the deciding model.
	st := classifiers.NewStage(c)
	items := []*pipeline.Item{{Msg: &contract.Message{Text: "sure spam"}}, {Msg: &contract.Message{Text: "unsure"}}}
	if err := st.Process(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	if items[0].Models["spam"] != "linear@1" || items[1].Models["spam"] != "encoder@1" {
		t.Fatalf("models %v %v", items[0].Models, items[1].Models)
	}
}

func TestRejectsMissingLabels(t *testing.T) {
	a := &fixed{name: "a", labels: []string{"toxic"}}
	b := &fixed{name: "b", labels: []string{"spam"}}
	if _, err := New(Step{Classifier: a}, Step{Classifier: b}); err == nil {
		t.Fatal("a later step that does not score the labels must be refused")
	}
}
