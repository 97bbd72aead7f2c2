package tokenizer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unicode"
)

// BPE is byte-level byte-pair encoding (GPT-2, RoBERTa): text is split by
// GPT-2's pre-tokenization pattern, each piece's UTF-8 bytes are mapped to
// printable characters, and merges are applied lowest rank first.
type BPE struct {
	vocab          map[string]int64
	ranks          map[[2]string]int
	addPrefixSpace bool
	unkID          int64
	hasUnk         bool
	tpl            *template
	maxLen         int

	mu    sync.Mutex
	cache map[string][]string
}

// byteRunes maps each byte to the printable rune GPT-2 uses for it.
var byteRunes = func() [256]rune {
	var m [256]rune
	taken := map[int]bool{}
	for b := '!'; b <= '~'; b++ {
		taken[int(b)] = true
	}
	for b := '¡'; b <= '¬'; b++ {
		taken[int(b)] = true
	}
	for b := '®'; b <= 'ÿ'; b++ {
		taken[int(b)] = true
	}
	n := 0
	for b := 0; b < 256; b++ {
		if taken[b] {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}()

// NewBPE builds a byte-level BPE tokenizer from its vocab and merges (in
// rank order, each "left right").
func NewBPE(vocab map[string]int64, merges []string, addPrefixSpace bool) (*BPE, error) {
	if len(vocab) == 0 {
		return nil, errors.New("bpe: empty vocab")
	}
	b := &BPE{vocab: vocab, ranks: make(map[[2]string]int, len(merges)), addPrefixSpace: addPrefixSpace,
		tpl: &template{}, cache: map[string][]string{}}
	for i, m := range merges {
		l, r, ok := strings.Cut(m, " ")
		if !ok {
			return nil, fmt.Errorf("bpe: merge %d %q is not two symbols", i, m)
		}
		if _, dup := b.ranks[[2]string{l, r}]; !dup {
			b.ranks[[2]string{l, r}] = i
		}
	}
	return b, nil
}

// LoadGPT2 reads OpenAI's GPT-2 files: encoder.json (the vocab) and
// vocab.bpe (the merges), as Hugging Face's vocab.json and merges.txt.
func LoadGPT2(encoderJSON, vocabBPE string) (*BPE, error) {
	eb, err := os.ReadFile(encoderJSON)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var vocab map[string]int64
	if err := json.Unmarshal(eb, &vocab); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", encoderJSON, err)
	}
	f, err := os.Open(vocabBPE)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer f.Close()
	var merges []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#version") || strings.TrimSpace(line) == "" {
			continue
		}
		merges = append(merges, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", vocabBPE, err)
	}
	return NewBPE(vocab, merges, false)
}

func newBPEFromFile(f *File) (*BPE, error) {
	var m struct {
		Vocab    map[string]int64  `json:"vocab"`
		Merges   []json.RawMessage `json:"merges"`
		UnkToken *string           `json:"unk_token"`
	}
	if err := json.Unmarshal(f.Model, &m); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	merges := make([]string, len(m.Merges))
	for i, raw := range m.Merges {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			merges[i] = s
			continue
		}
		var pair []string // newer tokenizer.json: ["left", "right"]
		if json.Unmarshal(raw, &pair) != nil || len(pair) != 2 {
			return nil, fmt.Errorf("model: merge %d is neither \"a b\" nor [a, b]", i)
		}
		merges[i] = pair[0] + " " + pair[1]
	}
	var pre struct {
		Type           string `json:"type"`
		AddPrefixSpace bool   `json:"add_prefix_space"`
	}
	if len(f.PreTokenizer) > 0 && string(f.PreTokenizer) != "null" {
		if err := json.Unmarshal(f.PreTokenizer, &pre); err != nil {
			return nil, fmt.Errorf("pre_tokenizer: %w", err)
		}
		if pre.Type != "ByteLevel" {
			return nil, fmt.Errorf("pre_tokenizer %q with BPE: %w", pre.Type, ErrUnsupported)
		}
	}
	if len(f.Normalizer) > 0 && string(f.Normalizer) != "null" {
		return nil, fmt.Errorf("normalizer with byte-level BPE: %w", ErrUnsupported)
	}
	b, err := NewBPE(m.Vocab, merges, pre.AddPrefixSpace)
	if err != nil {
		return nil, err
	}
	if m.UnkToken != nil {
		b.unkID, b.hasUnk = m.Vocab[*m.UnkToken]
	}
	var pp struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(f.PostProcessor, &pp)
	if pp.Type != "" && pp.Type != "ByteLevel" {
		if b.tpl, err = parseTemplate(f.PostProcessor); err != nil {
			return nil, err
		}
	}
	if f.Truncation != nil {
		b.maxLen = f.Truncation.MaxLength
	}
	return b, nil
}

// Encode implements Tokenizer.
func (b *BPE) Encode(text string, maxLen int) Encoding {
	return encode(b, b.tpl, b.maxLen, text, maxLen)
}

// Windows implements Tokenizer.
func (b *BPE) Windows(text string, maxLen, stride int) []Encoding {
	return windows(b, b.tpl, text, maxLen, stride)
}

func (b *BPE) content(text string, limit int) ([]int64, []string) {
	if b.addPrefixSpace && !strings.HasPrefix(text, " ") {
		text = " " + text
	}
	var ids []int64
	var toks []string
	for _, piece := range preTokenizeGPT2(text) {
		for _, sym := range b.bpe(piece) {
			id, ok := b.vocab[sym]
			if !ok {
				if !b.hasUnk {
					continue // byte-level vocabularies cover every byte; nothing to emit
				}
				id = b.unkID
			}
			ids, toks = append(ids, id), append(toks, sym)
		}
		if limit > 0 && len(ids) >= limit {
			break
		}
	}
	return ids, toks
}

// bpe returns the symbols of one pre-token.
func (b *BPE) bpe(piece string) []string {
	b.mu.Lock()
	if s, ok := b.cache[piece]; ok {
		b.mu.Unlock()
		return s
	}
	b.mu.Unlock()
	var mapped strings.Builder
	for i := 0; i < len(piece); i++ {
		mapped.WriteRune(byteRunes[piece[i]])
	}
	word := make([]string, 0, len(piece))
	for _, r := range mapped.String() {
		word = append(word, string(r))
	}
	for len(word) > 1 {
		best, bestRank := -1, int(^uint(0)>>1)
		for i := 0; i+1 < len(word); i++ {
			if r, ok := b.ranks[[2]string{word[i], word[i+1]}]; ok && r < bestRank {
				best, bestRank = i, r
			}
		}
		if best < 0 {
			break
		}
		l, r := word[best], word[best+1]
		merged := word[:0:0]
		for i := 0; i < len(word); i++ {
			if i+1 < len(word) && word[i] == l && word[i+1] == r {
				merged = append(merged, l+r)
				i++
				continue
			}
			merged = append(merged, word[i])
		}
		word = merged
	}
	b.mu.Lock()
	if len(b.cache) > 100_000 {
		b.cache = map[string][]string{}
	}
	b.cache[piece] = word
	b.mu.Unlock()
	return word
}

var contractions = []string{"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"}

// preTokenizeGPT2 splits text as GPT-2's pattern does:
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func preTokenizeGPT2(text string) []string {
	rs := []rune(text)
	var out []string
	isL := func(r rune) bool { return unicode.IsLetter(r) }
	isN := func(r rune) bool { return unicode.IsNumber(r) }
	isS := func(r rune) bool { return unicode.IsSpace(r) }
	other := func(r rune) bool { return !isS(r) && !isL(r) && !isN(r) }
	run := func(i int, f func(rune) bool) int {
		for i < len(rs) && f(rs[i]) {
			i++
		}
		return i
	}
	for i := 0; i < len(rs); {
		if rs[i] == '\'' {
			matched := false
			for _, c := range contractions {
				cr := []rune(c)
				if i+len(cr) <= len(rs) && string(rs[i:i+len(cr)]) == c {
					out = append(out, c)
					i += len(cr)
					matched = true
					break
				}
			}
			if matched {
				continue
			}
		}
		j := i
		if rs[j] == ' ' && j+1 < len(rs) {
			j++
		}
		switch {
		case isL(rs[j]) && (j == i || rs[i] == ' '):
			e := run(j, isL)
			out = append(out, string(rs[i:e]))
			i = e
			continue
		case isN(rs[j]) && (j == i || rs[i] == ' '):
			e := run(j, isN)
			out = append(out, string(rs[i:e]))
			i = e
			continue
		case other(rs[j]) && (j == i || rs[i] == ' '):
			e := run(j, other)
			out = append(out, string(rs[i:e]))
			i = e
			continue
		}
		// White space: all of a run, except its last character when a
		// non-space follows (that one joins the next piece).
		e := run(i, isS)
		if e < len(rs) && e-i > 1 {
			e--
		}
		out = append(out, string(rs[i:e]))
		i = e
	}
	return out
}
