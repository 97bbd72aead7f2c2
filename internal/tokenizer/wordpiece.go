package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// WordPiece is the BERT family's tokenizer: BertNormalizer (clean text,
// spaces around CJK characters, optional lower-casing and accent
// stripping), BertPreTokenizer (split on white space and punctuation), and
// greedy longest-match-first WordPiece with a continuing-subword prefix.
type WordPiece struct {
	vocab        map[string]int64
	unk          string
	unkID        int64
	prefix       string
	maxChars     int
	lowercase    bool
	stripAccents bool
	cleanText    bool
	chineseChars bool
	tpl          *template
	maxLen       int
}

func newWordPiece(f *File) (*WordPiece, error) {
	var m struct {
		UnkToken                string           `json:"unk_token"`
		ContinuingSubwordPrefix string           `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    int              `json:"max_input_chars_per_word"`
		Vocab                   map[string]int64 `json:"vocab"`
	}
	if err := json.Unmarshal(f.Model, &m); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if len(m.Vocab) == 0 {
		return nil, errors.New("model: empty vocab")
	}
	w := &WordPiece{vocab: m.Vocab, unk: m.UnkToken, prefix: m.ContinuingSubwordPrefix, maxChars: m.MaxInputCharsPerWord}
	if w.maxChars <= 0 {
		w.maxChars = 100
	}
	id, ok := w.vocab[w.unk]
	if !ok {
		return nil, fmt.Errorf("model: unk_token %q is not in the vocab", w.unk)
	}
	w.unkID = id
	if err := w.parseNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	var pre struct {
		Type string `json:"type"`
	}
	if len(f.PreTokenizer) > 0 && string(f.PreTokenizer) != "null" {
		if err := json.Unmarshal(f.PreTokenizer, &pre); err != nil {
			return nil, fmt.Errorf("pre_tokenizer: %w", err)
		}
		if pre.Type != "BertPreTokenizer" {
			return nil, fmt.Errorf("pre_tokenizer %q with WordPiece: %w", pre.Type, ErrUnsupported)
		}
	}
	tpl, err := parseTemplate(f.PostProcessor)
	if err != nil {
		return nil, err
	}
	w.tpl = tpl
	if f.Truncation != nil {
		w.maxLen = f.Truncation.MaxLength
	}
	return w, nil
}

func (w *WordPiece) parseNormalizer(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var n struct {
		Type               string `json:"type"`
		CleanText          bool   `json:"clean_text"`
		HandleChineseChars bool   `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          bool   `json:"lowercase"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return fmt.Errorf("normalizer: %w", err)
	}
	if n.Type != "BertNormalizer" {
		return fmt.Errorf("normalizer %q with WordPiece: %w", n.Type, ErrUnsupported)
	}
	w.cleanText, w.chineseChars, w.lowercase = n.CleanText, n.HandleChineseChars, n.Lowercase
	// strip_accents null follows lowercase, as in Hugging Face tokenizers.
	w.stripAccents = n.Lowercase
	if n.StripAccents != nil {
		w.stripAccents = *n.StripAccents
	}
	return nil
}

// Encode implements Tokenizer.
func (w *WordPiece) Encode(text string, maxLen int) Encoding {
	return encode(w, w.tpl, w.maxLen, text, maxLen)
}

// Windows implements Tokenizer.
func (w *WordPiece) Windows(text string, maxLen, stride int) []Encoding {
	return windows(w, w.tpl, text, maxLen, stride)
}

func (w *WordPiece) content(text string, limit int) ([]int64, []string) {
	var ids []int64
	var toks []string
	for _, word := range w.preTokenize(w.normalize(text)) {
		ids, toks = w.wordPiece(word, ids, toks)
		if limit > 0 && len(ids) >= limit {
			break // the rest would be truncated anyway
		}
	}
	return ids, toks
}

func (w *WordPiece) normalize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if w.cleanText {
			if r == 0 || r == 0xfffd || isControl(r) {
				continue
			}
			if isWhitespace(r) {
				r = ' '
			}
		}
		if w.chineseChars && isCJK(r) {
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	if w.stripAccents {
		out = norm.NFD.String(out)
		var s2 strings.Builder
		for _, r := range out {
			if !unicode.Is(unicode.Mn, r) {
				s2.WriteRune(r)
			}
		}
		out = s2.String()
	}
	if w.lowercase {
		out = strings.ToLower(out)
	}
	return out
}

// preTokenize splits on white space and isolates each punctuation
// character (BertPreTokenizer).
func (w *WordPiece) preTokenize(s string) []string {
	var out []string
	start := -1
	for i, r := range s {
		switch {
		case unicode.IsSpace(r):
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		case isPunct(r):
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			out = append(out, string(r))
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// wordPiece appends the greedy longest-match-first pieces of word, or the
// unknown token when some part has no piece.
func (w *WordPiece) wordPiece(word string, ids []int64, toks []string) ([]int64, []string) {
	runes := []rune(word)
	if len(runes) > w.maxChars {
		return append(ids, w.unkID), append(toks, w.unk)
	}
	var pids []int64
	var ptoks []string
	for start := 0; start < len(runes); {
		end := len(runes)
		found := false
		for end > start {
			sub := string(runes[start:end])
			if start > 0 {
				sub = w.prefix + sub
			}
			if id, ok := w.vocab[sub]; ok {
				pids, ptoks = append(pids, id), append(ptoks, sub)
				found = true
				break
			}
			end--
		}
		if !found {
			return append(ids, w.unkID), append(toks, w.unk)
		}
		start = end
	}
	return append(ids, pids...), append(toks, ptoks...)
}

func isWhitespace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.Zs, r)
}

func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isPunct is BERT's punctuation: ASCII symbols, and Unicode P*.
func isPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) || (r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}
