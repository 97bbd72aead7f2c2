package signals_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/internal/datasetstest"

	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/redistest"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/signals"
)

// campaignPosts are n variants of one spam post: typos, emoji, homoglyphs,
// changed URLs and amounts, as a spammer rotates them to dodge exact
// matching.
func campaignPosts(n int, r *rand.Rand) []string {
	base := "Congratulations! You have been selected to receive a free iPhone 15. Claim your reward now before it expires at"
	out := make([]string, n)
	for i := range out {
		t := []rune(base)
		for range 2 + r.IntN(3) { // typos: drop or swap a letter
			j := 1 + r.IntN(len(t)-2)
			if r.IntN(2) == 0 {
				t = append(t[:j], t[j+1:]...)
			} else {
				t[j], t[j+1] = t[j+1], t[j]
			}
		}
		s := string(t)
		if r.IntN(2) == 0 {
			s = strings.ReplaceAll(s, "o", "о") // Cyrillic o
		}
		if r.IntN(3) == 0 {
			s = strings.ToUpper(s[:20]) + s[20:]
		}
		emoji := []string{"", " 🎉", " 🔥🔥", " 💰"}[r.IntN(4)]
		out[i] = fmt.Sprintf("%s https://bit.ly/%x%s", s, r.Uint32(), emoji)
	}
	return out
}

func TestCampaignFoundAmongBenignPosts(t *testing.T) {
	t.Run("memory", func(t *testing.T) { campaign(t, nil) })
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t, false)
		rc, err := redis.New(redis.Config{Addrs: []string{srv.Addr}, Prefix: fmt.Sprintf("camp-%d:", time.Now().UnixNano()), Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		campaign(t, redis.NewSignals(rc))
	})
}

func campaign(t *testing.T, store signals.Store) {
	r := rand.New(rand.NewPCG(11, 12))
	benign := datasetstest.Texts(t, 10_000, "review_category")
	spam := campaignPosts(200, r)
	type post struct {
		text, author string
		spam         bool
	}
	var posts []post
	for i, b := range benign {
		posts = append(posts, post{b, fmt.Sprintf("u-%d", i), false})
	}
	for i, s := range spam {
		at := r.IntN(len(posts))
		p := post{s, fmt.Sprintf("spammer-%d", i%150), true}
		posts = append(posts[:at], append([]post{p}, posts[at:]...)...)
	}
	st := signals.New(signals.Options{Store: store})
	items := make([]*pipeline.Item, len(posts))
	for i, p := range posts {
		items[i] = &pipeline.Item{Msg: &contract.Message{Text: p.text, Author: p.author}}
	}
	for i := 0; i < len(items); i += 256 {
		if err := st.Process(context.Background(), items[i:min(i+256, len(items))]); err != nil {
			t.Fatal(err)
		}
	}
	// A cluster's final size is the largest size any of its members saw.
	final := map[string]float64{}
	clusterOf := make([]string, len(items))
	for i, it := range items {
		for _, f := range it.Findings {
			id, _, _ := strings.Cut(strings.TrimPrefix(f.Detail, "cluster "), ":")
			clusterOf[i] = id
			final[id] = max(final[id], it.Signals[signals.CampaignSize])
		}
	}
	spamClusters := map[string]int{}
	benignInBig := 0
	for i, p := range posts {
		if p.spam {
			spamClusters[clusterOf[i]]++
		} else if final[clusterOf[i]] >= 10 {
			benignInBig++
		}
	}
	if os.Getenv("SIEVE_DEBUG") != "" {
		for id, sz := range final {
			if sz >= 10 {
				n := 0
				for i := range posts {
					if clusterOf[i] == id && n < 3 {
						fmt.Printf("%s %.0f spam=%v %.80q\n", id, sz, posts[i].spam, posts[i].text)
						n++
					}
				}
			}
		}
	}
	best, bestN := "", 0
	for id, n := range spamClusters {
		if n > bestN {
			best, bestN = id, n
		}
	}
	t.Logf("campaign: %d of 200 posts in cluster %s (size %.0f, authors %v); %d clusters hold spam; %d of %d benign posts in clusters of 10 or more",
		bestN, best, final[best], authorsOf(items, clusterOf, best), len(spamClusters), benignInBig, len(benign))
	if final[best] < 190 || bestN < 190 {
		t.Errorf("the campaign's cluster holds %d posts (size %.0f), want at least 190", bestN, final[best])
	}
	if float64(benignInBig) >= 0.005*float64(len(benign)) {
		t.Errorf("%d benign posts (%.2f%%) sit in clusters of 10 or more, want under 0.5%%", benignInBig, 100*float64(benignInBig)/float64(len(benign)))
	}
}

func authorsOf(items []*pipeline.Item, clusterOf []string, id string) float64 {
	a := 0.0
	for i, it := range items {
		if clusterOf[i] == id {
			a = max(a, it.Signals[signals.CampaignAuthors])
		}
	}
	return a
}

func TestAuthorVelocity(t *testing.T) {
	st := signals.New(signals.Options{})
	var items []*pipeline.Item
	for range 5 {
		items = append(items, &pipeline.Item{Msg: &contract.Message{Text: "hi", Author: "fast"}})
	}
	if err := st.Process(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	if got := items[4].Signals[signals.AuthorRate]; got != 5 {
		t.Fatalf("author rate %v, want 5", got)
	}
	// An author first seen just now is new: the burst shows as
	// new_author_rate too.
	if got := items[4].Signals[signals.NewAuthorRate]; got != 5 {
		t.Fatalf("new author rate %v, want 5", got)
	}
}
