package tagger

import (
	"bytes"
	"math/rand/v2"
	"slices"
)

// Example is a labelled text: entity spans in byte offsets.
type Example struct {
	Text  string
	Spans []Span
	// Unlabelled are the labels its source does not annotate (a tweet set
	// that marks people and places but not dates): where the tagger finds
	// one of them on a token the source left unmarked, training neither
	// rewards nor punishes it.
	Unlabelled []string
}

// TrainOptions configure Train.
type TrainOptions struct {
	Name   string
	Labels []string // the entity labels to learn; spans of others are ignored
	Epochs int      // passes over the data (default 10)
	Seed   uint64   // the shuffle's seed
}

// goldTags are the BIO tags of a sentence from its spans: a token inside a
// span (overlapping it) takes the span's label, B- on its first token.
func (m *Model) goldTags(s *sentence, spans []Span) []int {
	tags := make([]int, len(s.toks))
	for _, sp := range spans {
		li := slices.Index(m.Labels, sp.Label)
		if li < 0 {
			continue
		}
		first := true
		for i, t := range s.toks {
			if t.End <= sp.Start || t.Start >= sp.End {
				continue
			}
			if first {
				tags[i] = 1 + 2*li
				first = false
			} else {
				tags[i] = 2 + 2*li
			}
		}
	}
	return tags
}

// Train learns a tagger with the structured averaged perceptron (Collins
// 2002): each example is decoded with Viterbi under the current weights,
// and where the best sequence differs from the gold one, the gold
// sequence's features and transitions gain and the predicted one's lose.
// The weights returned are the average over every step, which generalises
// far better than the last ones.
func Train(data []Example, o TrainOptions) *Model {
	if o.Epochs <= 0 {
		o.Epochs = 10
	}
	if o.Name == "" {
		o.Name = "tagger"
	}
	m := newModel(o.Name, o.Labels)
	n := len(m.tags)
	type prepared struct {
		s          *sentence
		gold       []int
		ids        [][]int32
		unlabelled []string
	}
	var buf []uint64
	prep := make([]prepared, 0, len(data))
	for _, ex := range data {
		s := newSentence(ex.Text)
		if len(s.toks) == 0 {
			continue
		}
		p := prepared{s: s, gold: m.goldTags(s, ex.Spans), ids: make([][]int32, len(s.toks)), unlabelled: ex.Unlabelled}
		for i := range s.toks {
			buf = s.features(i, buf[:0])
			for _, f := range buf {
				id, ok := m.feat[f]
				if !ok {
					id = int32(len(m.feat))
					m.feat[f] = id
				}
				p.ids[i] = append(p.ids[i], id)
			}
		}
		prep = append(prep, p)
	}
	m.w = make([]float32, len(m.feat)*n)
	// u accumulates c * each update, so that the average is w - u/c.
	u := make([]float32, len(m.w))
	ut := make([]float32, len(m.trans))
	c := float32(1)
	r := rand.New(rand.NewPCG(o.Seed, 0x7a66e7))
	order := make([]int, len(prep))
	for i := range order {
		order[i] = i
	}
	em := [][]float32{}
	for range o.Epochs {
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, k := range order {
			p := prep[k]
			em = em[:0]
			for i := range p.s.toks {
				row := make([]float32, n)
				for _, id := range p.ids[i] {
					w := m.w[int(id)*n : int(id)*n+n]
					for t := range row {
						row[t] += w[t]
					}
				}
				em = append(em, row)
			}
			pred, _ := m.viterbi(em)
			gold := p.gold
			if len(p.unlabelled) > 0 {
				gold = append([]int(nil), p.gold...)
				for i, q := range pred {
					if gold[i] == 0 && q != 0 && slices.Contains(p.unlabelled, m.tags[q][2:]) {
						gold[i] = q
					}
				}
			}
			for i := range pred {
				g, q := gold[i], pred[i]
				gp, qp := n, n // the start row
				if i > 0 {
					gp, qp = gold[i-1], pred[i-1]
				}
				if g == q && gp == qp {
					continue
				}
				if g != q {
					for _, id := range p.ids[i] {
						m.w[int(id)*n+g]++
						m.w[int(id)*n+q]--
						u[int(id)*n+g] += c
						u[int(id)*n+q] -= c
					}
				}
				m.trans[gp*n+g]++
				m.trans[qp*n+q]--
				ut[gp*n+g] += c
				ut[qp*n+q] -= c
			}
			c++
		}
	}
	for i := range m.w {
		m.w[i] -= u[i] / c
	}
	for i := range m.trans {
		m.trans[i] -= ut[i] / c
	}
	m.prune()
	var b bytes.Buffer
	m.Save(&b)
	if l, err := Load(b.Bytes()); err == nil {
		m.id = l.id
	}
	return m
}

// prune drops features whose averaged weights are all (near) zero: they
// never change a decision and only make the file larger.
func (m *Model) prune() {
	n := len(m.tags)
	names := make([]uint64, len(m.feat))
	for f, id := range m.feat {
		names[id] = f
	}
	feat := map[uint64]int32{}
	var w []float32
	for id, f := range names {
		row := m.w[id*n : id*n+n]
		keep := false
		for _, v := range row {
			if v > 1e-3 || v < -1e-3 {
				keep = true
				break
			}
		}
		if keep {
			feat[f] = int32(len(feat))
			w = append(w, row...)
		}
	}
	m.feat, m.w = feat, w
}
