package tagger

import (
	"bufio"
	"embed"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The gazetteers: small word lists from public data (gazetteers/README.md
// names each source and licence), looked up lower-cased.
//
//go:embed gazetteers/*.txt
var gazetteerFiles embed.FS

type gazetteer struct {
	name  string
	words map[string]bool
	// multi holds entries of several words, by their first word: "new
	// york" is found at "new".
	multi map[string][][]string
}

var gazetteers = loadGazetteers()

func loadGazetteers() []*gazetteer {
	entries, err := gazetteerFiles.ReadDir("gazetteers")
	if err != nil {
		panic(err)
	}
	var out []*gazetteer
	for _, e := range entries {
		f, err := gazetteerFiles.Open("gazetteers/" + e.Name())
		if err != nil {
			panic(err)
		}
		g := &gazetteer{name: strings.TrimSuffix(e.Name(), ".txt"), words: map[string]bool{}, multi: map[string][][]string{}}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			ws := strings.Fields(strings.ToLower(line))
			if len(ws) == 1 {
				g.words[ws[0]] = true
			} else {
				g.multi[ws[0]] = append(g.multi[ws[0]], ws)
			}
		}
		f.Close()
		out = append(out, g)
	}
	return out
}

// shape maps characters to classes and squeezes repeats: "McDonald" ->
// "XxXx", "42" -> "d", "A-1" -> "X-d".
func shape(w string) string {
	var b strings.Builder
	var last rune
	for _, r := range w {
		c := r
		switch {
		case unicode.IsUpper(r):
			c = 'X'
		case unicode.IsLower(r):
			c = 'x'
		case unicode.IsDigit(r):
			c = 'd'
		}
		if c != last {
			b.WriteRune(c)
			last = c
		}
	}
	return b.String()
}

func prefix(w string, n int) string {
	i := 0
	for k := range w {
		if i == n {
			return w[:k]
		}
		i++
	}
	return w
}

func suffix(w string, n int) string {
	c := utf8.RuneCountInString(w)
	if c <= n {
		return w
	}
	i := 0
	for k := range w {
		if i == c-n {
			return w[k:]
		}
		i++
	}
	return w
}

// sentence is a tokenised text with what features read of each token.
type sentence struct {
	toks  []Token
	lower []string
	shape []string
	gaz   [][]string // gazetteer names each token is in (or starts or continues a multi-word entry of)
	// nlBefore: a line break lies between the token and the one before.
	nlBefore []bool
	// lineStreet: the token's line has a street-type word ("Street",
	// "Ave"): addresses written the American way are labelled whole,
	// others by their parts.
	lineStreet []bool
}

func newSentence(text string) *sentence {
	s := &sentence{toks: Tokenize(text)}
	n := len(s.toks)
	s.lower, s.shape, s.gaz, s.nlBefore = make([]string, n), make([]string, n), make([][]string, n), make([]bool, n)
	for i, t := range s.toks {
		if i > 0 {
			s.nlBefore[i] = strings.ContainsRune(text[s.toks[i-1].End:t.Start], '\n')
		}
		s.lower[i] = strings.ToLower(t.Text)
		s.shape[i] = shape(t.Text)
	}
	for _, g := range gazetteers {
		for i := range n {
			if g.words[s.lower[i]] {
				s.gaz[i] = append(s.gaz[i], g.name)
			}
			for _, m := range g.multi[s.lower[i]] {
				if i+len(m) > n {
					continue
				}
				ok := true
				for k, w := range m {
					if s.lower[i+k] != w {
						ok = false
						break
					}
				}
				if ok {
					for k := range m {
						s.gaz[i+k] = append(s.gaz[i+k], g.name)
					}
				}
			}
		}
	}
	s.lineStreet = make([]bool, n)
	for a := 0; a < n; {
		b := a + 1
		for b < n && !s.nlBefore[b] {
			b++
		}
		street := false
		for k := a; k < b && !street; k++ {
			street = slices.Contains(s.gaz[k], "street_types") && k > a
		}
		for k := a; k < b; k++ {
			s.lineStreet[k] = street
		}
		a = b
	}
	return s
}

func (s *sentence) word(i int) string {
	switch {
	case i < 0:
		return "<s>"
	case i >= len(s.toks):
		return "</s>"
	}
	return s.lower[i]
}

func (s *sentence) shapeAt(i int) string {
	switch {
	case i < 0:
		return "<s>"
	case i >= len(s.toks):
		return "</s>"
	}
	return s.shape[i]
}

// hasher is FNV-1a over a feature's kind and values: features are hashed
// as they are made, so reading a text allocates no feature strings.
type hasher uint64

const (
	fnvOffset hasher = 14695981039346656037
	fnvPrime  hasher = 1099511628211
)

func (h hasher) str(s string) hasher {
	for i := 0; i < len(s); i++ {
		h ^= hasher(s[i])
		h *= fnvPrime
	}
	return h
}

// sep ends one part, so that ("ab", "c") and ("a", "bc") differ.
func (h hasher) sep() hasher {
	h ^= 0xff
	h *= fnvPrime
	return h
}

func f1(kind, a string) uint64    { return uint64(fnvOffset.str(kind).sep().str(a)) }
func f2(kind, a, b string) uint64 { return uint64(fnvOffset.str(kind).sep().str(a).sep().str(b)) }

// features are the emission features of token i, hashed. They never look
// at tags: the tags' own sequence is the transition weights' business.
func (s *sentence) features(i int, out []uint64) []uint64 {
	w := s.lower[i]
	raw := s.toks[i].Text
	out = append(out, f1("b", ""), f1("w", w), f1("sh", s.shape[i]), f1("p1", prefix(w, 1)), f1("p2", prefix(w, 2)), f1("p3", prefix(w, 3)),
		f1("s1", suffix(w, 1)), f1("s2", suffix(w, 2)), f1("s3", suffix(w, 3)),
		f1("w-1", s.word(i-1)), f1("w+1", s.word(i+1)), f1("w-2", s.word(i-2)), f1("w+2", s.word(i+2)),
		f1("sh-1", s.shapeAt(i-1)), f1("sh+1", s.shapeAt(i+1)),
		f2("w-1|w", s.word(i-1), w), f2("w|w+1", w, s.word(i+1)),
		f2("sh-1|sh", s.shapeAt(i-1), s.shape[i]), f2("sh|sh+1", s.shape[i], s.shapeAt(i+1)))
	if i == 0 {
		out = append(out, f1("first", ""))
	} else if p := s.toks[i-1].Text; p == "." || p == "!" || p == "?" {
		out = append(out, f1("after-stop", ""))
	}
	// Line breaks end address lines and list items; the tokens drop
	// the spaces, so the gaps are read here.
	if s.nlBefore[i] {
		out = append(out, f1("nl-before", ""), f1("nl-before|sh", s.shape[i]))
	}
	if i+1 < len(s.toks) && s.nlBefore[i+1] {
		out = append(out, f1("nl-after", ""))
	}
	if s.lineStreet[i] {
		out = append(out, f1("line-street", ""), f1("line-street|sh", s.shape[i]))
	}
	r, _ := utf8.DecodeRuneInString(raw)
	if unicode.IsUpper(r) {
		out = append(out, f1("title", ""))
		if i > 0 {
			out = append(out, f1("title-inside", ""))
		}
	}
	if n := utf8.RuneCountInString(raw); n <= 2 {
		out = append(out, f1("short", ""))
	} else if n >= 10 {
		out = append(out, f1("long", ""))
	}
	for _, g := range s.gaz[i] {
		out = append(out, f1("g", g))
	}
	for _, off := range []int{-1, 1} {
		if j := i + off; j >= 0 && j < len(s.toks) {
			for _, g := range s.gaz[j] {
				out = append(out, f2("g", string(rune('0'+off+1)), g))
			}
		}
	}
	return out
}
