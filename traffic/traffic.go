// Package traffic generates synthetic, deterministic moderation traffic for
// the demo and benchmarks: benign posts, spam, toxic replies, exact
// duplicates and a few malformed records.
package traffic

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Kind is what a generated message is meant to be.
type Kind int

const (
	Benign Kind = iota
	Spam
	Toxic
	Duplicate
	InvalidJSON
	InvalidUTF8
	Empty
	TooLarge
)

func (k Kind) String() string {
	if k == Campaign {
		return "campaign"
	}
	return [...]string{"benign", "spam", "toxic", "duplicate", "invalid_json", "invalid_utf8", "empty", "too_large"}[k]
}

// Invalid reports whether the pipeline must dead-letter this kind.
func (k Kind) Invalid() bool { return k >= InvalidJSON && k <= TooLarge }

// Mix is the share of each kind; the rest is benign.
type Mix struct {
	Spam, Toxic, Duplicate, Invalid float64
}

// DefaultMix is a plausible social stream: mostly benign, some spam and
// abuse, repeated spam, and a trickle of broken records.
var DefaultMix = Mix{Spam: 0.12, Toxic: 0.08, Duplicate: 0.05, Invalid: 0.005}

// Message is one generated record.
type Message struct {
	Key   string
	Value []byte
	Kind  Kind
}

// Generator produces messages deterministically from a seed.
type Generator struct {
	r       *rand.Rand
	mix     Mix
	n       int
	recent  []string
	maxText int
}

// New returns a generator. maxText is the size a too_large message exceeds.
func New(seed uint64, mix Mix, maxText int) *Generator {
	if maxText <= 0 {
		maxText = 64 << 10
	}
	return &Generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), mix: mix, maxText: maxText}
}

var (
	subjects = []string{"the new update", "this recipe", "my commute", "the game last night", "your photo", "the concert",
		"this thread", "the release notes", "our team", "the weather", "that movie", "the park downtown", "my garden",
		"the battery life", "the customer service", "this camera", "the latest episode", "the bike lane", "the library"}
	opinions = []string{"is great", "was surprisingly good", "could be better", "made my day", "is a bit slow",
		"looks amazing", "needs more testing", "is exactly what I needed", "was fine I guess", "broke on my phone",
		"keeps getting better", "is worth a try", "was too long", "feels different this time"}
	tails = []string{"", " thanks for sharing", " anyone else?", " :)", " highly recommend", " see you there",
		" will report back", " fingers crossed", " lol", " cheers"}
	spamHooks = []string{"WIN a FREE iPhone now", "Congratulations you are our lucky winner", "Earn money from home fast",
		"URGENT: claim your cash prize", "Limited time offer, 90% discount", "Crypto giveaway, double your bitcoin",
		"You won the lottery, act now", "Cheap meds, buy now"}
	spamCalls = []string{"click here http://bit.ly/%d", "visit www.deals%d.example", "txt WIN to %d", "call 0800%d now!!",
		"reply YES to claim £%d"}
	insults = []string{"you are an idiot", "shut up, loser", "this is pathetic trash", "what a stupid take",
		"nobody cares, moron", "you're worthless", "get lost you dumb troll"}
	authors = 5000
	// fillers make posts as varied as real ones: three of them give
	// millions of distinct texts, so exact duplicates are the ones the mix
	// asks for, not accidents of a small template.
	fillers = strings.Fields(`honestly really maybe today tomorrow tonight again finally somehow still already
		quite pretty very super kinda totally actually basically literally seriously definitely probably
		morning evening weekend monday friday summer winter spring autumn lately recently
		friends family neighbours coworkers kids everyone nobody somebody folks people
		downtown uptown nearby outside inside upstairs online offline abroad locally
		coffee tea pizza pasta salad soup bread cake cookies tacos sushi noodles burgers
		music podcast book film series show album song trailer episode chapter
		bike bus train car walk run hike swim drive flight ferry
		red blue green yellow purple orange black white silver golden
		cheap pricey quick slow loud quiet bright dark warm cold fresh stale`)
)

// Next returns the next message; id is its record key.
func (g *Generator) Next() Message {
	g.n++
	id := fmt.Sprintf("m-%d", g.n)
	x := g.r.Float64()
	kind := Benign
	switch m := g.mix; {
	case x < m.Invalid:
		kind = InvalidJSON + Kind(g.r.IntN(4))
	case x < m.Invalid+m.Duplicate && len(g.recent) > 0:
		kind = Duplicate
	case x < m.Invalid+m.Duplicate+m.Spam:
		kind = Spam
	case x < m.Invalid+m.Duplicate+m.Spam+m.Toxic:
		kind = Toxic
	}
	if m, ok := broken(id, kind); ok {
		return m
	}
	var text string
	switch kind {
	case TooLarge:
		text = strings.Repeat("long post ", g.maxText/10+1)
	case Duplicate:
		text = g.recent[g.r.IntN(len(g.recent))]
	case Spam:
		text = spamHooks[g.r.IntN(len(spamHooks))] + "! " + fmt.Sprintf(spamCalls[g.r.IntN(len(spamCalls))], 1000+g.r.IntN(90000)) + " " + g.filler(2)
	case Toxic:
		text = subjects[g.r.IntN(len(subjects))] + "? " + insults[g.r.IntN(len(insults))] + " " + g.filler(2)
	default:
		text = subjects[g.r.IntN(len(subjects))] + " " + opinions[g.r.IntN(len(opinions))] + ", " + g.filler(3) + tails[g.r.IntN(len(tails))]
	}
	if kind == Spam || kind == Benign {
		if len(g.recent) < 256 {
			g.recent = append(g.recent, text)
		} else {
			g.recent[g.r.IntN(len(g.recent))] = text
		}
	}
	msg := struct {
		V       int    `json:"v"`
		ID      string `json:"id"`
		Text    string `json:"text"`
		Author  string `json:"author"`
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	}{1, id, text, fmt.Sprintf("u-%d", g.r.IntN(authors)), "comments", time.Unix(1_790_000_000+int64(g.n), 0).UTC().Format(time.RFC3339)}
	b, _ := json.Marshal(msg)
	return Message{id, b, kind}
}

// broken is the record of an invalid kind that needs no text: malformed
// JSON, invalid UTF-8, or an empty text.
func broken(id string, kind Kind) (Message, bool) {
	switch kind {
	case InvalidJSON:
		return Message{id, []byte(`{"v":1,"id":"` + id + `","text":"unterminated`), kind}, true
	case InvalidUTF8:
		return Message{id, []byte("{\"text\":\"bad \xff\xfe bytes\"}"), kind}, true
	case Empty:
		return Message{id, []byte(`{"v":1,"id":"` + id + `","text":"   "}`), kind}, true
	}
	return Message{}, false
}

func (g *Generator) filler(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = fillers[g.r.IntN(len(fillers))]
	}
	return strings.Join(w, " ")
}
