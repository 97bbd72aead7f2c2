package tokenizer

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
	"unicode/utf8"
)

// The golden cases are the reference tests of Google's BERT tokenizer
// (tokenization_test.py), which Hugging Face tokenizers reproduces for
// WordPiece with BertNormalizer and BertPreTokenizer, on their toy vocab.
func TestWordPieceGolden(t *testing.T) {
	tok, err := Load("testdata/bert-tiny-tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/wordpiece.golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var g struct {
			Text   string   `json:"text"`
			Tokens []string `json:"tokens"`
			IDs    []int64  `json:"ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		e := tok.Encode(g.Text, 0)
		if !reflect.DeepEqual(e.Tokens, g.Tokens) || !reflect.DeepEqual(e.IDs, g.IDs) {
			t.Errorf("%q: got %v %v, want %v %v", g.Text, e.Tokens, e.IDs, g.Tokens, g.IDs)
		}
		if len(e.AttentionMask) != len(e.IDs) || len(e.TypeIDs) != len(e.IDs) {
			t.Errorf("%q: mask/type lengths differ from ids", g.Text)
		}
		n++
	}
	if n < 6 {
		t.Fatalf("only %d golden cases", n)
	}
}

func TestTruncationKeepsSpecialTokens(t *testing.T) {
	tok, _ := Load("testdata/bert-tiny-tokenizer.json")
	e := tok.Encode("unwanted running unwanted running", 5)
	if want := []int64{1, 7, 4, 5, 2}; !reflect.DeepEqual(e.IDs, want) {
		t.Fatalf("got %v, want %v", e.IDs, want)
	}
}

func TestUnsupportedComponentsAreNamed(t *testing.T) {
	_, err := Parse([]byte(`{"model": {"type": "Unigram"}}`))
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("%v", err)
	}
	if _, err := Parse([]byte(`not json`)); err == nil {
		t.Fatal("garbage accepted")
	}
}

func FuzzWordPiece(f *testing.F) {
	tok, err := Load("testdata/bert-tiny-tokenizer.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"UNwant\u00e9d,running", "", "\x00\xff", "博推", "a\u0301\u0301", "!!!???"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, s string, maxLen int) {
		if maxLen < 0 || maxLen > 512 {
			return
		}
		e := tok.Encode(s, maxLen)
		if maxLen >= 2 && len(e.IDs) > maxLen {
			t.Fatalf("%d ids over max %d", len(e.IDs), maxLen)
		}
		if len(e.IDs) < 2 || e.IDs[0] != 1 || e.IDs[len(e.IDs)-1] != 2 {
			t.Fatalf("special tokens missing: %v", e.IDs)
		}
		for _, tk := range e.Tokens {
			if !utf8.ValidString(tk) {
				t.Fatalf("invalid UTF-8 token %q", tk)
			}
		}
	})
}
