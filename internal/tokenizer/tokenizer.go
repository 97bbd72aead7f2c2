// Package tokenizer turns text into the token ids a Hugging Face encoder
// expects, reading the model's tokenizer.json: its normalizer,
// pre-tokenizer, model, post-processor (special tokens) and truncation.
// This file holds the format and the pipeline; wordpiece.go the BERT
// family's WordPiece.
package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// Encoding is one tokenized text.
type Encoding struct {
	IDs           []int64
	AttentionMask []int64
	TypeIDs       []int64
	Tokens        []string
}

// Tokenizer encodes texts.
type Tokenizer interface {
	// Encode tokenizes text, adds the special tokens and truncates to
	// maxLen tokens (0: the tokenizer's own truncation, if any).
	Encode(text string, maxLen int) Encoding
	// Windows covers all of text with encodings of at most maxLen tokens,
	// special tokens included, each starting stride content tokens after
	// the last (stride 0: half a window), for texts longer than a model
	// takes. A text that fits gives one encoding.
	Windows(text string, maxLen, stride int) []Encoding
}

// contenter is a tokenizer's model part: the content tokens of a text, at
// most about limit of them (0: all).
type contenter interface {
	content(text string, limit int) ([]int64, []string)
}

func encode(c contenter, tpl *template, defaultMax int, text string, maxLen int) Encoding {
	if maxLen <= 0 {
		maxLen = defaultMax
	}
	ids, toks := c.content(text, maxLen)
	return tpl.finish(ids, toks, maxLen)
}

func windows(c contenter, tpl *template, text string, maxLen, stride int) []Encoding {
	ids, toks := c.content(text, 0)
	room := maxLen - len(tpl.before) - len(tpl.after)
	if maxLen <= 0 || room <= 0 || len(ids) <= room {
		return []Encoding{tpl.finish(ids, toks, maxLen)}
	}
	if stride <= 0 || stride > room {
		stride = max(1, room/2)
	}
	var out []Encoding
	for s := 0; ; s += stride {
		e := min(s+room, len(ids))
		out = append(out, tpl.finish(ids[s:e], toks[s:e], maxLen))
		if e == len(ids) {
			return out
		}
	}
}

// File is the subset of tokenizer.json Sieve reads.
type File struct {
	Version       string          `json:"version"`
	Truncation    *Truncation     `json:"truncation"`
	AddedTokens   []AddedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         json.RawMessage `json:"model"`
}

// Truncation is tokenizer.json's truncation section.
type Truncation struct {
	MaxLength int `json:"max_length"`
}

// AddedToken is a special or added token.
type AddedToken struct {
	ID      int64  `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
}

// ErrUnsupported is wrapped when tokenizer.json uses a component Sieve does
// not implement; the error names it.
var ErrUnsupported = errors.New("unsupported tokenizer component")

// Load reads tokenizer.json at path.
func Load(path string) (Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	return t, nil
}

// Parse builds a tokenizer from tokenizer.json bytes.
func Parse(b []byte) (Tokenizer, error) {
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("not a tokenizer.json: %w", err)
	}
	var model struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(f.Model, &model); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	switch model.Type {
	case "WordPiece":
		return newWordPiece(&f)
	case "BPE":
		return newBPEFromFile(&f)
	default:
		return nil, fmt.Errorf("model type %q: %w", model.Type, ErrUnsupported)
	}
}

// template is a TemplateProcessing post-processor for single sequences.
type template struct {
	before, after []int64 // special ids around $A
	beforeTok     []string
	afterTok      []string
}

func parseTemplate(raw json.RawMessage) (*template, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return &template{}, nil
	}
	var pp struct {
		Type   string `json:"type"`
		Single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int64 `json:"ids"`
		} `json:"special_tokens"`
		// BertProcessing / RobertaProcessing
		Sep []json.RawMessage `json:"sep"`
		Cls []json.RawMessage `json:"cls"`
	}
	if err := json.Unmarshal(raw, &pp); err != nil {
		return nil, fmt.Errorf("post_processor: %w", err)
	}
	t := &template{}
	switch pp.Type {
	case "TemplateProcessing":
		seen := false
		for _, piece := range pp.Single {
			switch {
			case piece.Sequence != nil:
				seen = true
			case piece.SpecialToken != nil:
				st, ok := pp.SpecialTokens[piece.SpecialToken.ID]
				if !ok {
					return nil, fmt.Errorf("post_processor: special token %q has no ids", piece.SpecialToken.ID)
				}
				for _, id := range st.IDs {
					if seen {
						t.after, t.afterTok = append(t.after, id), append(t.afterTok, piece.SpecialToken.ID)
					} else {
						t.before, t.beforeTok = append(t.before, id), append(t.beforeTok, piece.SpecialToken.ID)
					}
				}
			}
		}
	case "BertProcessing", "RobertaProcessing":
		var cls, sep struct {
			tok string
			id  int64
		}
		if len(pp.Cls) != 2 || len(pp.Sep) != 2 || json.Unmarshal(pp.Cls[0], &cls.tok) != nil || json.Unmarshal(pp.Cls[1], &cls.id) != nil ||
			json.Unmarshal(pp.Sep[0], &sep.tok) != nil || json.Unmarshal(pp.Sep[1], &sep.id) != nil {
			return nil, errors.New("post_processor: cls and sep must be [token, id]")
		}
		t.before, t.beforeTok = []int64{cls.id}, []string{cls.tok}
		t.after, t.afterTok = []int64{sep.id}, []string{sep.tok}
	default:
		return nil, fmt.Errorf("post_processor %q: %w", pp.Type, ErrUnsupported)
	}
	return t, nil
}

// finish adds special tokens, truncating the content so the whole fits in
// maxLen.
func (t *template) finish(ids []int64, toks []string, maxLen int) Encoding {
	if maxLen > 0 {
		room := maxLen - len(t.before) - len(t.after)
		if room < 0 {
			room = 0
		}
		if len(ids) > room {
			ids, toks = ids[:room], toks[:room]
		}
	}
	n := len(t.before) + len(ids) + len(t.after)
	e := Encoding{IDs: make([]int64, 0, n), Tokens: make([]string, 0, n), AttentionMask: make([]int64, n), TypeIDs: make([]int64, n)}
	e.IDs = append(append(append(e.IDs, t.before...), ids...), t.after...)
	e.Tokens = append(append(append(e.Tokens, t.beforeTok...), toks...), t.afterTok...)
	for i := range e.AttentionMask {
		e.AttentionMask[i] = 1
	}
	return e
}
