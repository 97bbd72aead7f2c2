package traffic

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// Review is one product review to replay: a title (may be empty) and text.
type Review struct {
	Title string
	Text  string
}

// SampleReviews stand in for a review set when none is at hand (tests, a
// machine without the shared datasets): short clothing reviews of every
// department, both sentiments, and a few that mention a safety problem.
var SampleReviews = []Review{
	{"Love this dress", "The dress fits perfectly and the fabric flows, I wore it to a wedding."},
	{"Runs small", "Beautiful dress but the bust runs small, order a size up."},
	{"Perfect summer dress", "Light, pretty and the length hits just below the knee."},
	{"Disappointed", "The dress looked nothing like the picture and the zipper broke on day one."},
	{"Great jeans", "These jeans fit my hips well and the denim has a nice stretch."},
	{"Too long", "The pants are too long for me and the waist gaps in the back."},
	{"Favourite shorts", "Comfortable shorts with deep pockets, I bought two colours."},
	{"Cute skirt", "The skirt is flattering and the lining is soft."},
	{"Soft sweater", "This sweater is cozy and warm, perfect for fall."},
	{"Blouse is sheer", "The blouse is very sheer, you need a camisole under it."},
	{"Nice tee", "A simple knit top that washes well and keeps its shape."},
	{"Itchy and unsafe", "The sweater gave me a rash and the dye bled, I think it is unsafe for sensitive skin."},
	{"Warm jacket", "The jacket is warm, well made and the hood is lined."},
	{"Coat zipper", "The coat looks great but the zipper is stiff."},
	{"Cozy pajamas", "These pajamas are so soft, I sleep in them every night."},
	{"Swimsuit", "The swimsuit fits well and the straps are adjustable."},
	{"Bra wire", "The wire in this bra broke and poked me, it cut my skin, dangerous."},
	{"Leggings", "Thick leggings that are not see through, great for yoga."},
	{"Returned it", "Poor quality, the seams came apart after one wash."},
	{"Gorgeous", "Gorgeous colour and the fit is true to size."},
}

// fakeReviews are the texts of a fake-review campaign: the same praise
// posted for many products by new accounts.
var fakeReviews = []string{
	"Best purchase ever!!! Five stars, amazing quality, everyone should buy this now",
	"Absolutely perfect product, fast shipping, highly recommend this seller to everyone",
}

// ReviewGenerator replays reviews as a review stream: each from an author
// of a large pool, for a product, under one of two tenants, and now and
// then a burst of fake reviews from a new account. Reviews are dealt in
// shuffled passes, so a text comes back only after the whole set was
// replayed (at which point every text is a repeat, as the campaign signals
// will say).
type ReviewGenerator struct {
	r       *rand.Rand
	reviews []Review
	order   []int // a shuffled pass over reviews: no repeats within a pass
	n       int
	burst   int // fake reviews left in the current burst
	faker   string
}

// NewReviews returns a deterministic generator over reviews.
func NewReviews(seed uint64, reviews []Review) *ReviewGenerator {
	if len(reviews) == 0 {
		reviews = SampleReviews
	}
	return &ReviewGenerator{r: rand.New(rand.NewPCG(seed, seed^0x7e71e)), reviews: reviews}
}

// Next is the next review, stamped ts.
func (g *ReviewGenerator) Next(ts time.Time) Message {
	g.n++
	id := fmt.Sprintf("r-%d", g.n)
	msg := map[string]any{"id": id, "tenant": []string{"shop-eu", "shop-us"}[g.r.IntN(2)],
		"channel": fmt.Sprintf("product-%d", g.r.IntN(500)), "ts": ts.UTC().Format(time.RFC3339Nano)}
	if g.burst == 0 && g.r.Float64() < 0.004 {
		g.burst, g.faker = 8, fmt.Sprintf("new-account-%d", g.n)
	}
	if g.burst > 0 {
		g.burst--
		msg["author"] = g.faker
		msg["text"] = fakeReviews[g.r.IntN(len(fakeReviews))]
	} else {
		if len(g.order) == 0 {
			g.order = g.r.Perm(len(g.reviews))
		}
		rv := g.reviews[g.order[0]]
		g.order = g.order[1:]
		msg["author"] = fmt.Sprintf("customer-%d", g.r.IntN(100000))
		msg["text"] = rv.Text
		if rv.Title != "" {
			msg["title"] = rv.Title
		}
	}
	v, _ := json.Marshal(msg)
	return Message{Key: id, Value: v, Kind: Benign}
}
