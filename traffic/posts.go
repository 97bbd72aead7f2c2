package traffic

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Corpus is real text to replay as a social stream: ordinary posts, spam,
// and abusive or harmful posts, each kind dealt in shuffled passes.
type Corpus struct {
	Benign, Spam, Harmful []string
}

// PostMix is the share of each kind of post in a Posts stream; the rest is
// benign. Campaign is the chance that a post starts a campaign burst.
type PostMix struct {
	Spam, Harmful, Campaign, Invalid float64
}

// DefaultPostMix is close to what a mid-sized platform sees: a few percent
// spam and abuse, a coordinated campaign now and then, and a trickle of
// broken records.
var DefaultPostMix = PostMix{Spam: 0.02, Harmful: 0.03, Campaign: 0.0005, Invalid: 0.002}

// Posts replays a Corpus as a social stream. Authors come from a large
// pool with a heavy tail (most write rarely, a few often), as on a real
// platform, so that per-author signals stay quiet for ordinary users. A
// campaign is the demo's deliberate attack: one spam text, lightly varied,
// posted by 30 fresh accounts in a burst, which the campaign signals should
// catch.
type Posts struct {
	r       *rand.Rand
	c       Corpus
	mix     PostMix
	passes  [3][]int // shuffled passes over Benign, Spam, Harmful
	n       int
	burst   int // campaign posts left in the current burst
	camp    string
	campID  int
	authors int
}

// NewPosts returns a deterministic stream over c.
func NewPosts(seed uint64, c Corpus, mix PostMix) *Posts {
	return &Posts{r: rand.New(rand.NewPCG(seed, seed^0x9057)), c: c, mix: mix, authors: 200_000}
}

// Kinds of a Posts message beyond the generator's: a campaign post.
const Campaign Kind = 100

func (p *Posts) deal(kind int, texts []string) string {
	if len(texts) == 0 {
		return ""
	}
	if len(p.passes[kind]) == 0 {
		p.passes[kind] = p.r.Perm(len(texts))
	}
	t := texts[p.passes[kind][0]]
	p.passes[kind] = p.passes[kind][1:]
	return t
}

// author draws from the pool: four posts in five from anyone, the fifth
// from a heavy tail (author k about 1/k as often as author 1), so that a few
// regulars post often and nobody dominates.
func (p *Posts) author() string {
	if p.r.IntN(5) > 0 {
		return fmt.Sprintf("u-%d", p.r.IntN(p.authors))
	}
	k := int(math.Exp(p.r.Float64()*math.Log(float64(p.authors)))) - 1
	return fmt.Sprintf("u-%d", k)
}

// Next returns the next message, stamped ts.
func (p *Posts) Next(ts time.Time) Message {
	p.n++
	id := fmt.Sprintf("p-%d", p.n)
	if p.burst == 0 && p.r.Float64() < p.mix.Campaign && len(p.c.Spam) > 0 {
		p.burst, p.campID = 30, p.n
		p.camp = p.deal(1, p.c.Spam)
	}
	kind, text, author := Benign, "", ""
	x := p.r.Float64()
	switch m := p.mix; {
	case p.burst > 0:
		p.burst--
		kind, author = Campaign, fmt.Sprintf("new-%d-%d", p.campID, p.burst)
		text = vary(p.r, p.camp)
	case x < m.Invalid:
		kind = InvalidJSON + Kind(p.r.IntN(3))
	case x < m.Invalid+m.Spam:
		kind, text = Spam, p.deal(1, p.c.Spam)
	case x < m.Invalid+m.Spam+m.Harmful:
		kind, text = Toxic, p.deal(2, p.c.Harmful)
	}
	if m, ok := broken(id, kind); ok {
		return m
	}
	if text == "" {
		kind, text = Benign, p.deal(0, p.c.Benign)
	}
	if author == "" {
		author = p.author()
	}
	b, _ := json.Marshal(map[string]any{"v": 1, "id": id, "text": text, "author": author, "channel": "comments",
		"ts": ts.UTC().Format(time.RFC3339Nano)})
	return Message{id, b, kind}
}

// vary changes a campaign text the way spammers do to dodge exact
// matching: a different number, an emoji, a case change.
func vary(r *rand.Rand, s string) string {
	switch r.IntN(4) {
	case 0:
		return s + " " + []string{"!!", "🔥", "👉", "✅"}[r.IntN(4)]
	case 1:
		return strings.ToUpper(s[:1]) + s[1:] + fmt.Sprintf(" #%d", 100+r.IntN(900))
	case 2:
		return strings.Replace(s, " ", "  ", 1)
	}
	return s
}
