package linear

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestDenseTokens(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"I don't hate you", []string{"i", "do", "n't", "hate", "you"}},
		{"you’re an idiot!!", []string{"you", "'re", "an", "idiot", "!!"}},
		{"I'M FINE, it's ok", []string{"i", "'m", "fine", ",", "it", "'s", "ok"}},
		{"'s", []string{"'s"}}, // a clitic alone stays whole
		{"", nil},
	}
	for _, tt := range tests {
		if got := DenseTokens(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("DenseTokens(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// testDense is a small random head for the sample's one label: the words
// of the spam examples and a few others.
func testDense(seed uint64, classes []string) *Dense {
	r := rand.New(rand.NewPCG(seed, 1))
	vocab := []string{"", "free", "win", "prize", "park", "the", "now", "you", "do", "n't"}
	d := &Dense{Classes: classes, Vocab: vocab, Dim: 4, Hidden: 3, Blend: make([]float32, len(classes))}
	for c := range d.Blend {
		d.Blend[c] = 0.4
	}
	d.Emb = make([]int8, len(vocab)*d.Dim)
	for i := range d.Emb {
		d.Emb[i] = int8(r.IntN(255) - 127)
	}
	d.Scale = make([]float32, len(vocab))
	for i := range d.Scale {
		d.Scale[i] = 0.01
	}
	fill := func(n int) []float32 {
		xs := make([]float32, n)
		for i := range xs {
			xs[i] = float32(r.NormFloat64())
		}
		return xs
	}
	d.Adjacent = seed%2 == 1
	inputs := 2
	if d.Adjacent {
		inputs = 3
	}
	d.W1, d.B1 = fill(inputs*d.Dim*d.Hidden), fill(d.Hidden)
	d.W2, d.B2 = fill(d.Hidden*len(classes)), fill(len(classes))
	head, _ := DecodeDense(d.Encode()) // builds the index
	return head
}

// A model with a dense head blends it into every score, keeps it through
// its file, and scores a long text's windows with the head reading the
// same words as the linear weights.
func TestDenseHead(t *testing.T) {
	train, _ := sample()
	lin, err := Train(train, TrainOptions{Name: "spam", DimsLog2: 12, Epochs: 10, LR: 1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := Decode(lin.Encode())
	if err := m.SetDense(testDense(3, m.Classes)); err != nil {
		t.Fatal(err)
	}
	if err := m.SetDense(testDense(3, []string{"other"})); err == nil {
		t.Error("a head for other classes was attached")
	}
	ctx := context.Background()
	texts := []string{"win a free prize now", "see you at the park", "", "zzz qqq"}
	plain, _ := lin.Classify(ctx, texts)
	blended, _ := m.Classify(ctx, texts)
	if plain[0][0] == blended[0][0] {
		t.Error("the head did not change a score")
	}
	if plain[2][0] != blended[2][0] {
		t.Errorf("a text without tokens scored %v, want the linear %v", blended[2][0], plain[2][0])
	}

	b := m.Seal()
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Encode(), b) {
		t.Error("the model does not round-trip through its file")
	}
	again, _ := back.Classify(ctx, texts)
	for i := range texts {
		if again[i][0] != blended[i][0] {
			t.Errorf("%q: %v after decoding, %v before", texts[i], again[i][0], blended[i][0])
		}
	}

	// 40 words: windows [0,32) and [8,40) with the default window.
	words := strings.Fields(strings.Repeat("the park now you ", 8) + "win a free prize now " + strings.Repeat("the park ", 1) + "the")
	if len(words) != 40 {
		t.Fatalf("%d words", len(words))
	}
	got, _ := m.Classify(ctx, []string{strings.Join(words, " ")})
	whole := m.WithWindow(-1, 0)
	a, _ := whole.Classify(ctx, []string{strings.Join(words[:32], " ")})
	z, _ := whole.Classify(ctx, []string{strings.Join(words[8:], " ")})
	if want := max(a[0][0], z[0][0]); !close32(got[0][0], want) {
		t.Errorf("windowed score %v, want the higher of its windows' %v and %v", got[0][0], a[0][0], z[0][0])
	}
}

func close32(a, b float32) bool { return a-b < 1e-5 && b-a < 1e-5 }

func TestDecodeDenseCorrupt(t *testing.T) {
	good := testDense(1, []string{"spam"}).Encode()
	tests := map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("SIEVEXXX"), good[8:]...),
		"truncated": good[:len(good)-3],
		"trailing":  append(slices.Clone(good), 0),
		"header":    append([]byte("SIEVEDNS\x05\x00\x00\x00{bad}"), good[20:]...),
	}
	for name, b := range tests {
		if _, err := DecodeDense(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v does not wrap ErrCorrupt", name, err)
		}
	}
}

func FuzzDecodeDense(f *testing.F) {
	f.Add(testDense(1, []string{"spam"}).Encode())
	f.Add([]byte(denseMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDense(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// A head that decodes must score without panicking.
		var s denseScratch
		d.tokenize([]string{"free", "prize", "don't"}, &s)
		p := make([]float32, len(d.Classes))
		d.blend(s.ids, p, &s)
	})
}
