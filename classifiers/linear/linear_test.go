package linear

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/contract"
)

// sample is a fixed, hand-written training set: spam and benign posts.
func sample() (train, test []Example) {
	spam := []string{"win a free iphone now click here", "claim your cash prize today", "free entry to win tickets text now",
		"urgent you have won a lottery prize", "cheap meds buy now limited offer", "earn money from home fast guaranteed",
		"congratulations winner claim your free gift", "act now free bitcoin giveaway", "your account won a prize call now",
		"limited time offer free voucher click", "txt win to claim the cash prize", "free ringtones reply now to win"}
	ham := []string{"see you at the park later", "the meeting moved to tuesday", "thanks for dinner last night",
		"can you pick up milk on the way", "the game was great yesterday", "happy birthday hope you have a good day",
		"running late be there in ten", "did you finish the report", "lovely photo of the harbour",
		"what time is the movie tonight", "call me when you get home", "the new update works well on my phone"}
	for i, s := range spam {
		e := Example{ID: "s" + string(rune('a'+i)), Text: s, Labels: []string{"spam"}}
		if i%4 == 3 {
			test = append(test, e)
		} else {
			train = append(train, e)
		}
	}
	for i, s := range ham {
		e := Example{ID: "h" + string(rune('a'+i)), Text: s}
		if i%4 == 3 {
			test = append(test, e)
		} else {
			train = append(train, e)
		}
	}
	return train, test
}

// Training is deterministic: the same data and seed give the same bytes,
// and the figures on held-out rows are what they were when this test was
// written, within a tolerance for the float rounding of other CPUs.
func TestTrainDeterministicAndAccurate(t *testing.T) {
	train, test := sample()
	opts := TrainOptions{Name: "spam", DimsLog2: 14, Epochs: 30, LR: 1, Seed: 7}
	a, err := Train(train, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Train(train, opts)
	if !bytes.Equal(a.Seal(), b.Seal()) {
		t.Fatal("two trainings with the same seed differ")
	}
	rep, err := classifiers.Evaluate(context.Background(), []classifiers.Classifier{a}, test, nil, 8)
	if err != nil {
		t.Fatal(err)
	}
	spam := rep.Labels["spam"]
	if spam.Support != 3 {
		t.Fatalf("support %d", spam.Support)
	}
	if math.Abs(spam.F1-1) > 0.01 || math.Abs(rep.Any.Accuracy-1) > 0.01 {
		t.Fatalf("held-out figures moved: f1 %.4f accuracy %.4f", spam.F1, rep.Any.Accuracy)
	}
	scores, _ := a.Classify(context.Background(), []string{"FREE prize!!! click now", "see you at dinner"})
	if scores[0][0] < 0.5 || scores[1][0] > 0.5 {
		t.Fatalf("scores %v", scores)
	}
}

func TestMultiClassWithBenign(t *testing.T) {
	train := []Example{
		{ID: "1", Text: "you are a stupid idiot", Labels: []string{"insult"}},
		{ID: "2", Text: "what a moron", Labels: []string{"insult"}},
		{ID: "3", Text: "i will hurt you", Labels: []string{"threat"}},
		{ID: "4", Text: "watch your back i will find you", Labels: []string{"threat"}},
		{ID: "5", Text: "nice weather today"},
		{ID: "6", Text: "thanks for the help"},
	}
	m, err := Train(train, TrainOptions{Kind: classifiers.MultiClass, DimsLog2: 12, Epochs: 50, LR: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Labels(); len(got) != 2 || len(m.Classes) != 3 {
		t.Fatalf("labels %v classes %v", got, m.Classes)
	}
	best, p := m.Predict("nice weather")
	if m.Classes[best] != noneClass {
		t.Fatalf("benign text predicted %s (%v)", m.Classes[best], p)
	}
	var sum float32
	for _, x := range p {
		sum += x
	}
	if math.Abs(float64(sum-1)) > 1e-5 {
		t.Fatalf("softmax sums to %v", sum)
	}
}

func TestLoadRoundTripAndErrors(t *testing.T) {
	train, _ := sample()
	m, _ := Train(train, TrainOptions{Name: "spam", DimsLog2: 12, Epochs: 3})
	dir := t.TempDir()
	path := filepath.Join(dir, "spam.sieve")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Describe().Version != m.Describe().Version || got.Describe().ID() != "spam@"+m.Describe().Version {
		t.Fatalf("version %s vs %s", got.Describe().Version, m.Describe().Version)
	}
	a, _ := m.Classify(context.Background(), []string{"free prize"})
	b, _ := got.Classify(context.Background(), []string{"free prize"})
	if a[0][0] != b[0][0] {
		t.Fatalf("scores differ after a round trip: %v %v", a, b)
	}

	raw, _ := os.ReadFile(path)
	bad := map[string][]byte{
		"truncated.sieve": raw[:len(raw)/2],
		"garbage.sieve":   []byte("not a model at all"),
		"empty.sieve":     {},
	}
	for name, b := range bad {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), p) || !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v must name the file and wrap ErrCorrupt", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	train, _ := sample()
	m, _ := Train(train, TrainOptions{DimsLog2: 10, Epochs: 1})
	f.Add(m.Encode())
	m.SetDense(testDense(2, m.Classes))
	f.Add(m.Encode())
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// A file that decodes must score without panicking.
		if _, err := m.Classify(context.Background(), []string{"free prize", ""}); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	train, _ := sample()
	m, _ := Train(train, TrainOptions{DimsLog2: 18, Epochs: 2})
	texts := []string{"WIN a FREE iPhone now!! click here http://bit.ly/x1", "see you at the park later, the weather looks great",
		"the update broke my phone again lol", "thanks for sharing, highly recommend"}
	batch := make([]string, 256)
	for i := range batch {
		batch[i] = texts[i%len(texts)]
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Classify(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "texts/s")
}

// A categories model: exhaustive classes, calibrated by temperature,
// abstaining below its floor, never flagging, and surviving a round trip.
func TestCategoriesModel(t *testing.T) {
	texts := map[string][]string{
		"dresses": {"love this dress the skirt flows", "the dress is long and pretty", "a dress for summer weddings", "this maxi dress fits", "dress runs small in the bust", "beautiful dress with a slip"},
		"bottoms": {"these jeans fit my hips", "the pants are too long", "great jeans for work", "shorts with deep pockets", "pants run small in the waist", "my favourite jeans now"},
	}
	var train, dev []Example
	for label, ts := range texts {
		for i, s := range ts {
			e := Example{ID: label + string(rune('a'+i)), Text: s, Labels: []string{label}}
			if i%3 == 2 {
				dev = append(dev, e)
			} else {
				train = append(train, e)
			}
		}
	}
	// Rows with no label are the background: texts of another kind, whose
	// category is Other.
	for i, s := range []string{"see you at the park later tonight", "the meeting moved to tuesday morning", "call me when you get home",
		"happy birthday hope you have a good day", "running late be there in ten", "what time is the movie tonight"} {
		e := Example{ID: "bg" + string(rune('a'+i)), Text: s}
		if i%3 == 2 {
			dev = append(dev, e)
		} else {
			train = append(train, e)
		}
	}
	if _, err := Train(train, TrainOptions{Kind: classifiers.MultiLabel, Categories: true}); err == nil {
		t.Fatal("a multi-label categories model must be refused")
	}
	m, err := Train(train, TrainOptions{Kind: classifiers.MultiClass, Categories: true, AbstainBelow: 0.9, Epochs: 30, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Calibrate(dev, 0); err != nil {
		t.Fatal(err)
	}
	if m.Meta["temperature"] == "" {
		t.Fatal("calibration did not fit a temperature")
	}
	m.Seal()
	back, err := Decode(m.Encode())
	if err != nil {
		t.Fatal(err)
	}
	d := back.Describe()
	if !d.Categories || d.AbstainBelow != 0.9 || len(d.Thresholds) != 0 {
		t.Fatalf("round trip lost the categories: %+v", d)
	}
	scores, err := back.Classify(context.Background(), []string{"the dress is lovely dress dress", "qqqq zzzz", "see you at the meeting later tonight"})
	if err != nil {
		t.Fatal(err)
	}
	low0 := d
	low0.AbstainBelow = 0
	if got := low0.Category(scores[2]); got != contract.CategoryOther {
		t.Errorf("a background text (%v) got %q, want other even without a floor", scores[2], got)
	}
	if got := d.Category(scores[0]); got != "dresses" && got != contract.CategoryOther {
		t.Errorf("a dress review got %q", got)
	}
	if got := d.Category([]float32{0.55, 0.45}); got != contract.CategoryOther {
		t.Errorf("an unsure 0.55/0.45 got %q, want other under a 0.9 floor", got)
	}
	if s := scores[1][0] + scores[1][1]; s > 1+1e-5 {
		t.Errorf("category scores sum to %v", s)
	}
	low := d
	low.AbstainBelow = 0
	if got := low.Category(scores[0]); got != "dresses" {
		t.Errorf("without a floor a dress review got %q", got)
	}
}

// A long text scores each label at its highest over the windows: the same
// as scoring each window's words on their own.
func TestWindowsMaxPool(t *testing.T) {
	train, _ := sample()
	m, err := Train(train, TrainOptions{Name: "spam", DimsLog2: 12, Epochs: 20, LR: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var words []string
	for _, e := range train {
		words = append(words, strings.Fields(e.Text)...)
	}
	ctx := context.Background()
	tests := []struct{ window, stride, n int }{
		{8, 4, 40}, {8, 3, 41}, {5, 5, 23}, {8, 8, 8}, {32, 16, 100},
	}
	for _, tt := range tests {
		text := strings.Join(words[:tt.n], " ")
		w := m.WithWindow(tt.window, tt.stride)
		got, _ := w.Classify(ctx, []string{text})
		want := float32(-1)
		for start := 0; ; start += tt.stride {
			if start+tt.window > tt.n {
				start = max(0, tt.n-tt.window)
			}
			s, _ := m.WithWindow(-1, 0).Classify(ctx, []string{strings.Join(words[start:min(tt.n, start+tt.window)], " ")})
			want = max(want, s[0][0])
			if start+tt.window >= tt.n {
				break
			}
		}
		if math.Abs(float64(got[0][0]-want)) > 1e-6 {
			t.Errorf("window %d stride %d over %d words: %v, want the windows' max %v", tt.window, tt.stride, tt.n, got[0][0], want)
		}
	}
	if whole, _ := m.WithWindow(-1, 0).Classify(ctx, []string{strings.Join(words[:40], " ")}); whole[0][0] == 0 {
		t.Fatal("no score")
	}
	if m.WithWindow(64, 0).Describe().Version == m.Describe().Version {
		t.Error("a non-default window keeps the model's version; caches would mix its scores with the default's")
	}
}
