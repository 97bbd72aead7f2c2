package review_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/sourcegraph/conc"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/internal/apikey"
	"github.com/sieve-stream/sieve/internal/kafkatest"
	"github.com/sieve-stream/sieve/review"
	"github.com/sieve-stream/sieve/route"
	"github.com/sieve-stream/sieve/service"
)

// chromium finds Debian's headless browser (scripts/test-deps.sh installs
// it).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: run ./scripts/test-deps.sh (make test does)")
	return ""
}

func tinyPNG(t *testing.T) string {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 64 {
		img.Set(i%8, i/8, color.RGBA{uint8(i * 4), 80, 160, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// A moderator reviews ten items in a real browser, with the keyboard
// only: the queue is fed by the pipeline (a member of `sieve run` on the
// embedded broker, routing with payload review), a second moderator in
// another browser context never sees the same item, images stay blurred
// until clicked, one rewrite is edited, a forged form post is refused,
// and ten decision records reach Kafka.
func TestBrowserReview(t *testing.T) {
	if testing.Short() {
		t.Skip("drives headless Chromium over a live pipeline; skipped with -short")
	}
	browser := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The pipeline: sieve run's member on an embedded broker, every
	// verdict routed to the review topic with its message.
	brokers, cl := kafkatest.Start(t, 1, "review", "decisions")
	cfg := config.Default()
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Partitions = 1
	cfg.Kafka.Group = "sieve-browser"
	cfg.Pipeline.CommitInterval = 100 * time.Millisecond
	cfg.Routes = []route.Config{{Topic: "review", Payload: route.PayloadReview}}
	cfg.Review.Keys = []review.Key{{ID: "alice", SHA256: apikey.Hash("key-alice")}, {ID: "bob", SHA256: apikey.Hash("key-bob")}}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := service.CreateTopics(ctx, cfg, brokers); err != nil {
		t.Fatal(err)
	}
	pic := tinyPNG(t)
	for i := range 12 {
		m := map[string]any{"id": fmt.Sprintf("m-%02d", i), "author": fmt.Sprintf("u-%d", i),
			"text": fmt.Sprintf("WIN a FREE phone now, click here to claim prize %d", i)}
		if i%3 == 0 {
			m["media"] = []map[string]string{{"data": pic, "mime": "image/png"}}
		}
		v, _ := json.Marshal(m)
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "posts", Key: []byte(m["id"].(string)), Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	member, err := service.NewMember(cfg, service.MemberOptions{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	var wg conc.WaitGroup
	defer wg.Wait()
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	wg.Go(func() { _ = member.Run(runCtx) })

	// The console.
	q := review.NewQueue(review.NewMemoryLeaser(), cfg.Review.Lease)
	srv := review.NewServer(cfg.Review, review.Options{Queue: q, Writer: review.KafkaWriter{Client: cl, Topic: cfg.Review.DecisionsTopic}})
	opts, err := kafka.ClientOptions(&cfg.Kafka, brokers)
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { _ = review.Feed(runCtx, opts, cfg.Review, srv, nil, nil) })
	hs := httptest.NewServer(srv)
	defer hs.Close()
	for q.Health().Depth < 12 {
		if ctx.Err() != nil {
			t.Fatalf("the queue holds %d items, want the 12 the pipeline routed", q.Health().Depth)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Two browser contexts: two moderators, separate cookies.
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true))...)
	defer cancelAlloc()
	first, cancelFirst := chromedp.NewContext(alloc)
	defer cancelFirst()
	if err := chromedp.Do(first); err != nil {
		t.Fatalf("chromium does not start: %v", err)
	}
	alice, cancelA := chromedp.NewContext(first, chromedp.WithNewBrowserContext())
	defer cancelA()
	bob, cancelB := chromedp.NewContext(first, chromedp.WithNewBrowserContext())
	defer cancelB()
	login := func(c context.Context, key string) {
		t.Helper()
		if err := chromedp.Do(c, chromedp.Navigate(hs.URL+"/login"), chromedp.WaitVisible(chromedp.ID("key")),
			chromedp.SendKeys(chromedp.ID("key"), key+"\r"), chromedp.WaitVisible(chromedp.CSS("#item, #empty"))); err != nil {
			t.Fatalf("login %s: %v", key, err)
		}
	}
	current := func(c context.Context) string {
		t.Helper()
		id, err := chromedp.Run(c, chromedp.Evaluate[string](`(document.getElementById('item')||{dataset:{}}).dataset.id || ''`))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	login(alice, "key-alice")
	login(bob, "key-bob")
	bobs := current(bob)

	decided := map[string]bool{}
	decidedAs := map[string]string{}
	edited := ""
	for n := 0; n < 10; n++ {
		id := current(alice)
		if id == "" || id == bobs {
			t.Fatalf("decision %d: alice is shown %q while bob holds %q", n, id, bobs)
		}
		if decided[id] {
			t.Fatalf("alice is shown %s again after deciding it", id)
		}
		imgs, err := chromedp.Run(alice, chromedp.Evaluate[int](`document.querySelectorAll('img.media').length`))
		if err != nil {
			t.Fatal(err)
		}
		if imgs > 0 {
			const isBlurred = `document.querySelector('img.media').classList.contains('blurred')`
			blurred, err := chromedp.Run(alice, chromedp.Evaluate[bool](isBlurred))
			if err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(alice, chromedp.Click(chromedp.CSS("img.media"))); err != nil {
				t.Fatal(err)
			}
			after, err := chromedp.Run(alice, chromedp.Evaluate[bool](isBlurred))
			if err != nil {
				t.Fatal(err)
			}
			if !blurred || after {
				t.Fatalf("%s: image blurred before the click %v, after %v; want true then false", id, blurred, after)
			}
			// The click focused nothing that takes keys; go on by keyboard.
		}
		var keys []chromedp.Action[chromedp.Void]
		switch {
		case n == 4:
			edited, decidedAs[id] = id, "rewrite"
			keys = []chromedp.Action[chromedp.Void]{chromedp.KeyEvent("e"), chromedp.KeyEvent("\b\b\b\b\b"), chromedp.KeyEvent("a kinder text"),
				chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl))}
		case n%2 == 0:
			decidedAs[id] = "block"
			keys = []chromedp.Action[chromedp.Void]{chromedp.KeyEvent("1"), chromedp.KeyEvent("b")}
		default:
			decidedAs[id] = "allow"
			keys = []chromedp.Action[chromedp.Void]{chromedp.KeyEvent("a")}
		}
		if err := chromedp.Do(alice, keys...); err != nil {
			t.Fatal(err)
		}
		decided[id] = true
		// Wait for the next item: between the two pages there is a moment
		// with none (the page is loading), which is not "nothing left".
		deadline := time.Now().Add(10 * time.Second)
		for cur := current(alice); (cur == id || cur == "") && time.Now().Before(deadline); cur = current(alice) {
			time.Sleep(50 * time.Millisecond)
		}
		if n == 9 {
			shot, err := chromedp.Run(bob, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			path := os.Getenv("SIEVE_REVIEW_SCREENSHOT")
			if path == "" {
				path = filepath.Join(t.TempDir(), "review.png")
			}
			if err := os.WriteFile(path, shot, 0o644); err != nil || len(shot) < 1000 {
				t.Fatalf("screenshot %d bytes: %v", len(shot), err)
			}
		}
	}

	// A form forged elsewhere, posted with alice's own session cookie but
	// without the page's CSRF token, is refused.
	res, err := chromedp.Call(alice, network.GetCookies, network.GetCookiesParams{URLs: []string{hs.URL}})
	if err != nil || len(res.Cookies) == 0 {
		t.Fatalf("alice's cookie: %v %v", res, err)
	}
	cookies := res.Cookies
	req, _ := http.NewRequest("POST", hs.URL+"/decide", strings.NewReader(url.Values{"id": {bobs}, "decision": {"block"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: cookies[0].Name, Value: cookies[0].Value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a forged post got %d, want 403", resp.StatusCode)
	}

	// Ten decision records, all alice's, one with her edit.
	cons, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(cfg.Review.DecisionsTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var recs []review.Decision
	for len(recs) < 10 && ctx.Err() == nil {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		for _, r := range cons.PollFetches(pctx).Records() {
			var d review.Decision
			if err := json.Unmarshal(r.Value, &d); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, d)
		}
		pcancel()
	}
	if len(recs) != 10 {
		t.Fatalf("%d decision records, want 10", len(recs))
	}
	seen := map[string]bool{}
	for _, d := range recs {
		if d.Reviewer != "alice" || seen[d.ID] || !decided[d.ID] {
			t.Fatalf("decision %+v: not alice's, twice, or not one she was shown", d)
		}
		seen[d.ID] = true
		if d.ID == edited && (d.Decision != "rewrite" || d.Rewrite == nil || !strings.HasSuffix(*d.Rewrite, "a kinder text")) {
			t.Fatalf("the edited item's decision %+v", d)
		}
	}

	// sieve run decides a later copy of a text alice allowed as she did,
	// written in other case and spacing, whatever the models say.
	// (Of the five items alice allowed at least one has no image: four of
	// the twelve carry one, and a decision on a message with media names no
	// text.)
	var allowed string
	var orig int
	for id, d := range decidedAs {
		var n int
		fmt.Sscanf(id, "m-%d", &n)
		if d == "allow" && n%3 != 0 {
			allowed, orig = id, n
		}
	}
	if allowed == "" {
		t.Fatalf("no item without an image was allowed: %v", decidedAs)
	}
	// The member follows the decisions topic on its own; copies are sent
	// until one arrives after it has read alice's decision.
	vcons, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(cfg.Kafka.Topics.Verdicts), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer vcons.Close()
	type verdict struct {
		ID       string `json:"id"`
		Decision string `json:"decision"`
		Findings []struct {
			Detector, Signal string
		} `json:"findings"`
	}
	overridden := func(v verdict) bool {
		for _, f := range v.Findings {
			if f.Detector == "review" && f.Signal == "moderator_decision" {
				return v.Decision == "allow"
			}
		}
		return false
	}
	var last verdict
	ok := false
	for k := 0; k < 20 && !ok && ctx.Err() == nil; k++ {
		id := fmt.Sprint("again-", k)
		again, _ := json.Marshal(map[string]string{"id": id, "text": fmt.Sprintf("win a free PHONE now,   click here to claim prize %d", orig)})
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "posts", Key: []byte(id), Value: again}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		for pctx.Err() == nil && !ok {
			for _, r := range vcons.PollFetches(pctx).Records() {
				if strings.HasPrefix(string(r.Key), "again-") {
					if err := json.Unmarshal(r.Value, &last); err != nil {
						t.Fatal(err)
					}
					ok = ok || overridden(last)
				}
			}
		}
		pcancel()
	}
	if !ok {
		t.Fatalf("no copy of %s, which alice allowed, was decided as she did; the last got %+v", allowed, last)
	}
	stopRun()
}
