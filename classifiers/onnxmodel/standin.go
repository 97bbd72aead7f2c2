package onnxmodel

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// WriteStandin writes a complete Hugging Face-style model directory for a
// MiniLM-sized stand-in encoder (BERTEncoder with MiniLM's shape: dim 384,
// 12 heads, FFN 1536, 6 layers, 2 labels):
// model.onnx, a WordPiece tokenizer.json whose vocabulary has common
// English words and every letter as a word start and a continuation (so
// any text gets a realistic token count), and config.json. Benchmarks use
// it where no real export can be had.
func WriteStandin(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tb := WordPieceJSON(strings.Fields(`the a an and or but to of in on at for with from by is are was were be been it this that
		you your we our they their he she his her i me my not no yes so very really just like love hate good bad great
		free win winner prize cash click here now call text claim offer money buy cheap deal update photo game team
		new post thanks thank please today tomorrow night morning weekend phone app work time day people friend`))
	var vf struct {
		Model struct {
			Vocab map[string]int64 `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(tb, &vf); err != nil {
		return err
	}
	vocab := vf.Model.Vocab
	cfg := `{"id2label": {"0": "ok", "1": "flagged"}, "problem_type": "single_label_classification", "max_position_embeddings": 512}`
	for name, data := range map[string][]byte{
		"model.onnx":     BERTEncoder(len(vocab), MiniLM, 2, 7),
		"tokenizer.json": tb,
		"config.json":    []byte(cfg),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// WordPieceJSON writes a BERT-style tokenizer.json (lower-casing
// BertNormalizer, BertPreTokenizer, WordPiece, [CLS] … [SEP]) whose
// vocabulary is the special tokens, every letter and digit as a word start
// and as a "##" continuation (so no text is unknown), common punctuation,
// and words.
func WordPieceJSON(words []string) []byte {
	vocab := map[string]int64{}
	add := func(t string) {
		if _, ok := vocab[t]; !ok {
			vocab[t] = int64(len(vocab))
		}
	}
	for _, t := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		add(t)
	}
	for c := 'a'; c <= 'z'; c++ {
		add(string(c))
		add("##" + string(c))
	}
	for c := '0'; c <= '9'; c++ {
		add(string(c))
		add("##" + string(c))
	}
	for _, p := range strings.Split(`! " # $ % & ' ( ) * + , - . / : ; < = > ? @ [ \ ] ^ _ { | } ~ £ €`, " ") {
		add(p)
	}
	for _, w := range words {
		add(w)
	}
	tok := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil,
		"normalizer":    map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": nil, "lowercase": true},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{"type": "TemplateProcessing",
			"single": []any{map[string]any{"SpecialToken": map[string]any{"id": "[CLS]", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
				map[string]any{"SpecialToken": map[string]any{"id": "[SEP]", "type_id": 0}}},
			"special_tokens": map[string]any{"[CLS]": map[string]any{"id": "[CLS]", "ids": []int64{vocab["[CLS]"]}},
				"[SEP]": map[string]any{"id": "[SEP]", "ids": []int64{vocab["[SEP]"]}}}},
		"model": map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": vocab},
	}
	b, _ := json.Marshal(tok)
	return b
}
