package tagger

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode"
)

// Span is an entity the tagger found: byte offsets (End exclusive) and its
// label (person, street_address, gpe, organization, date_time, age, nrp).
type Span struct {
	Start, End int
	Label      string
	// Score is the mean margin of its tokens' tags over the next best,
	// squashed into (0, 1): a rough confidence, not a calibrated one.
	Score float64
}

// Model is a trained tagger. Tag is safe for concurrent use.
type Model struct {
	Name   string
	Labels []string         // entity labels in the order they were trained
	tags   []string         // "O", then B- and I- of each label
	feat   map[uint64]int32 // hashed feature -> row of w
	w      []float32        // feature x tag
	trans  []float32        // (previous tag, or start) x tag
	id     string
}

func newModel(name string, labels []string) *Model {
	m := &Model{Name: name, Labels: labels, tags: []string{"O"}, feat: map[uint64]int32{}}
	for _, l := range labels {
		m.tags = append(m.tags, "B-"+l, "I-"+l)
	}
	n := len(m.tags)
	m.trans = make([]float32, (n+1)*n)
	return m
}

// ID is name@version, the version a hash of the weights.
func (m *Model) ID() string { return m.id }

// allowed says whether tag b may follow tag a (a = -1 at the start): an
// I- tag only continues its own entity.
func (m *Model) allowed(a, b int) bool {
	if b == 0 || (b-1)%2 == 0 {
		return true // O or B-
	}
	return a == b || a == b-1
}

func (m *Model) featureIDs(s *sentence, i int, buf []uint64, ids []int32) []int32 {
	buf = s.features(i, buf[:0])
	ids = ids[:0]
	for _, f := range buf {
		if id, ok := m.feat[f]; ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// scores fills the emission scores of every token for every tag.
func (m *Model) emissions(s *sentence) [][]float32 {
	n := len(m.tags)
	em := make([][]float32, len(s.toks))
	buf := make([]uint64, 0, 48)
	ids := make([]int32, 0, 48)
	for i := range s.toks {
		ids = m.featureIDs(s, i, buf, ids)
		row := make([]float32, n)
		for _, id := range ids {
			w := m.w[int(id)*n : int(id)*n+n]
			for t := range row {
				row[t] += w[t]
			}
		}
		em[i] = row
	}
	return em
}

// viterbi is the best tag sequence under the emissions and transitions,
// with I- tags only after their own B- or I-; margins are each token's
// best score over its second best.
func (m *Model) viterbi(em [][]float32) (tags []int, margin []float32) {
	n := len(m.tags)
	T := len(em)
	if T == 0 {
		return nil, nil
	}
	score := make([]float32, T*n)
	back := make([]int32, T*n)
	neg := float32(math.Inf(-1))
	for t := range n {
		score[t] = neg
		if m.allowed(-1, t) {
			score[t] = em[0][t] + m.trans[n*n+t]
		}
	}
	for i := 1; i < T; i++ {
		for t := range n {
			best, arg := neg, int32(0)
			for p := range n {
				if score[(i-1)*n+p] == neg || !m.allowed(p, t) {
					continue
				}
				if v := score[(i-1)*n+p] + m.trans[p*n+t]; v > best {
					best, arg = v, int32(p)
				}
			}
			score[i*n+t] = best + em[i][t]
			back[i*n+t] = arg
		}
	}
	tags = make([]int, T)
	best := neg
	for t := range n {
		if score[(T-1)*n+t] > best {
			best, tags[T-1] = score[(T-1)*n+t], t
		}
	}
	for i := T - 1; i > 0; i-- {
		tags[i-1] = int(back[i*n+tags[i]])
	}
	margin = make([]float32, T)
	for i, row := range em {
		second := neg
		for t, v := range row {
			if t != tags[i] && v > second {
				second = v
			}
		}
		margin[i] = row[tags[i]] - second
	}
	return tags, margin
}

// Tag finds the entities of text, ordered by Start.
func (m *Model) Tag(text string) []Span {
	s := newSentence(text)
	tags, margin := m.viterbi(m.emissions(s))
	return m.spans(s, tags, margin)
}

func (m *Model) spans(s *sentence, tags []int, margin []float32) []Span {
	var out []Span
	for i := 0; i < len(tags); i++ {
		if tags[i] == 0 {
			continue
		}
		label := m.tags[tags[i]][2:]
		end := i + 1
		for end < len(tags) && m.tags[tags[end]] == "I-"+label {
			end++
		}
		// An entity does not end on punctuation ("62." is "62"); the
		// punctuation dropped is not an entity of its own either.
		j := end
		for j-1 > i && isPunct(s.toks[j-1].Text) {
			j--
		}
		var sum float32
		for k := i; k < j; k++ {
			sum += margin[k]
		}
		out = append(out, Span{Start: s.toks[i].Start, End: s.toks[j-1].End, Label: label,
			Score: 1 / (1 + math.Exp(-float64(sum)/float64(j-i)))})
		i = end - 1
	}
	return out
}

// fileModel is the model file's content (gob, gzip-compressed, after a
// magic line): the same discipline as the linear models' files, a header
// that says what the file is and a body that only this version reads.
type fileModel struct {
	Name     string
	Labels   []string
	Features []uint64 // FNV-1a hashes of the features, in row order
	W        []float32
	Trans    []float32
}

const magic = "sieve-tagger 2\n"

// Save writes the model.
func (m *Model) Save(w io.Writer) error {
	fm := fileModel{Name: m.Name, Labels: m.Labels, W: m.w, Trans: m.trans, Features: make([]uint64, len(m.feat))}
	for f, id := range m.feat {
		fm.Features[id] = f
	}
	if _, err := io.WriteString(w, magic); err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err := gob.NewEncoder(zw).Encode(fm); err != nil {
		return err
	}
	return zw.Close()
}

// ErrNotTagger: the bytes are not a tagger model file.
var ErrNotTagger = errors.New("not a tagger model (want a file that starts with \"sieve-tagger 2\")")

// Load reads a model file.
func Load(b []byte) (*Model, error) {
	if !bytes.HasPrefix(b, []byte(magic)) {
		return nil, ErrNotTagger
	}
	zr, err := gzip.NewReader(bytes.NewReader(b[len(magic):]))
	if err != nil {
		return nil, fmt.Errorf("tagger model: %w", err)
	}
	var fm fileModel
	if err := gob.NewDecoder(io.LimitReader(zr, 1<<30)).Decode(&fm); err != nil {
		return nil, fmt.Errorf("tagger model: %w", err)
	}
	m := newModel(fm.Name, fm.Labels)
	n := len(m.tags)
	if len(fm.W) != len(fm.Features)*n || len(fm.Trans) != (n+1)*n {
		return nil, fmt.Errorf("tagger model: %d weights for %d features and %d tags", len(fm.W), len(fm.Features), n)
	}
	for i, f := range fm.Features {
		m.feat[f] = int32(i)
	}
	m.w, m.trans = fm.W, fm.Trans
	sum := sha256.Sum256(b)
	m.id = m.Name + "@" + hex.EncodeToString(sum[:3])
	return m, nil
}

// Entity names as the pii scanner's `entities` option spells them
// (Presidio's), and the labels of the span files.
var entityNames = map[string]string{
	"PERSON": "person", "STREET_ADDRESS": "street_address", "GPE": "gpe", "LOCATION": "gpe",
	"ORGANIZATION": "organization", "DATE_TIME": "date_time", "AGE": "age", "NRP": "nrp",
}

// LabelOf maps an entity name (PERSON) or a label (person) to the label.
func LabelOf(name string) (string, bool) {
	if l, ok := entityNames[strings.ToUpper(name)]; ok {
		return l, true
	}
	for _, l := range entityNames {
		if l == name {
			return l, true
		}
	}
	return "", false
}

// DefaultLabels are the entity labels the built-in tagger learns.
var DefaultLabels = []string{"person", "street_address", "gpe", "organization", "date_time", "age", "nrp"}

func isPunct(t string) bool {
	for _, r := range t {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}
