package review

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sieve-stream/sieve/internal/apikey"
	"github.com/sieve-stream/sieve/internal/kafkatest"
)

// memWriter keeps decisions in memory.
type memWriter struct {
	mu   sync.Mutex
	recs [][]byte
}

func (m *memWriter) Write(_ context.Context, _, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, v)
	return nil
}

func testConfig() Config {
	c := Config{Keys: []Key{
		{ID: "alice", SHA256: apikey.Hash("key-alice")},
		{ID: "bob", SHA256: apikey.Hash("key-bob")},
		{ID: "root", SHA256: apikey.Hash("key-root"), Role: RoleAdmin},
	}}
	c.EnsureDefaults()
	return c
}

type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base, key string) *client {
	jar, _ := cookiejar.New(nil)
	c := &client{t, base, &http.Client{Jar: jar}}
	if key != "" {
		resp, err := c.http.PostForm(base+"/login", url.Values{"key": {key}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Request.URL.Path != "/" {
			t.Fatalf("login with %q ended at %s", key, resp.Request.URL)
		}
	}
	return c
}

var (
	csrfRe  = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
	idRe    = regexp.MustCompile(`name="id" value="([^"]+)"`)
	claimRe = regexp.MustCompile(`name="claim" value="([0-9a-f]+)"`)
)

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *client) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	resp, err := c.http.PostForm(c.base+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// page returns the current item's id, claim and the session's CSRF token.
func (c *client) page() (id, claim, csrf, body string) {
	c.t.Helper()
	_, body = c.get("/")
	m := func(re *regexp.Regexp) string {
		if s := re.FindStringSubmatch(body); s != nil {
			return s[1]
		}
		return ""
	}
	return m(idRe), m(claimRe), m(csrfRe), body
}

func fill(t testing.TB, q *Queue, n int) {
	for i := range n {
		it, err := ParseItem([]byte(fmt.Sprintf(`{"v":1,"id":"m-%d","labels":{"spam":%v,"harassment":0.1},"flags":["spam"],"decision":"flag","models":{"spam":"spam@1"},"rewrite":"a kinder text %d",
			"message":{"text":"win a free phone now, number %d","media":[{"data":"iVBORw0KGgo=","mime":"image/png"},{"url":"https://cdn.example/%d.png"}]}}`, i, 0.5+float64(i)/1000, i, i, i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		q.Add(it)
	}
}

// The console end to end over HTTP against a real broker: login, the
// session cookie's attributes, the item page, a decision on Kafka, CSRF,
// one decision per claim, and two reviewers never on one item.
func TestConsole(t *testing.T) {
	brokers, cl := kafkatest.Start(t, 1, "decisions")
	ctx := context.Background()
	cfg := testConfig()
	q := NewQueue(NewMemoryLeaser(), cfg.Lease)
	fill(t, q, 5)
	srv := httptest.NewServer(NewServer(cfg, Options{Queue: q, Writer: KafkaWriter{cl, "decisions"}}))
	defer srv.Close()

	t.Run("a wrong key is refused", func(t *testing.T) {
		c := newClient(t, srv.URL, "")
		resp, err := c.http.PostForm(srv.URL+"/login", url.Values{"key": {"nope"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !strings.HasPrefix(resp.Request.URL.Path, "/login") {
			t.Fatalf("a wrong key reached %s", resp.Request.URL)
		}
		if code, body := c.get("/"); code != 200 || !strings.Contains(body, `name="key"`) {
			t.Fatalf("without a session / gave %d and not the login page", code)
		}
	})
	t.Run("the session cookie", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := hc.PostForm(srv.URL+"/login", url.Values{"key": {"key-alice"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header.Get("Set-Cookie")
		for _, want := range []string{"HttpOnly", "SameSite=Strict", "Expires=", "Max-Age="} {
			if !strings.Contains(h, want) {
				t.Errorf("Set-Cookie %q lacks %s", h, want)
			}
		}
	})

	alice, bob := newClient(t, srv.URL, "key-alice"), newClient(t, srv.URL, "key-bob")
	idA, claimA, csrfA, body := alice.page()
	idB, _, _, _ := bob.page()
	if idA == "" || idB == "" || idA == idB {
		t.Fatalf("alice has %q, bob has %q: want two different items", idA, idB)
	}
	if !strings.Contains(body, "win a free phone") || !strings.Contains(body, `class="media blurred"`) {
		t.Fatal("the item page lacks the text or a blurred image")
	}
	if strings.Contains(body, `src="https://cdn.example`) || !strings.Contains(body, "not loaded") {
		t.Fatal("a poster's image URL is loaded by the moderator's browser")
	}

	t.Run("a forged form is refused", func(t *testing.T) {
		for _, forged := range []string{"", "0123456789abcdef0123456789abcdef"} {
			code, _ := alice.post("/decide", url.Values{"csrf": {forged}, "id": {idA}, "claim": {claimA}, "decision": {"block"}})
			if code != http.StatusForbidden {
				t.Fatalf("a decision with CSRF token %q got %d, want 403", forged, code)
			}
		}
	})
	t.Run("a reviewer cannot decide another's item", func(t *testing.T) {
		_, _, csrfB, _ := bob.page()
		if code, _ := bob.post("/decide", url.Values{"csrf": {csrfB}, "id": {idA}, "claim": {claimA}, "decision": {"allow"}}); code != http.StatusConflict {
			t.Fatalf("bob deciding alice's item got %d, want 409", code)
		}
	})

	form := url.Values{"csrf": {csrfA}, "id": {idA}, "claim": {claimA}, "decision": {"block"}, "label": {"spam"},
		"rewrite": {"edited by alice"}, "edited": {"1"}}
	if code, _ := alice.post("/decide", form); code != 200 {
		t.Fatalf("decide: %d", code)
	}
	if code, _ := alice.post("/decide", form); code != http.StatusConflict {
		t.Fatalf("the same claim decided twice got %d, want 409", code)
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("decisions"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < 1 && pctx.Err() == nil {
		recs = append(recs, cons.PollFetches(pctx).Records()...)
	}
	if len(recs) != 1 {
		t.Fatalf("%d decision records, want 1", len(recs))
	}
	var d Decision
	if err := json.Unmarshal(recs[0].Value, &d); err != nil {
		t.Fatal(err)
	}
	if string(recs[0].Key) != idA || d.ID != idA || d.Reviewer != "alice" || d.Decision != "block" || d.ModelDecision != "flag" ||
		d.Rewrite == nil || *d.Rewrite != "edited by alice" || d.ModelRewrite == nil || len(d.TextSHA256) != 64 ||
		d.Claim != claimA || d.Scores["spam"] == 0 || d.Models["spam"] != "spam@1" || fmt.Sprint(d.Labels) != "[spam]" {
		t.Fatalf("decision record %+v", d)
	}
	if next, _, _, _ := alice.page(); next == idA || next == idB {
		t.Fatalf("after deciding alice was given %q again (bob holds %q)", next, idB)
	}

	t.Run("admin pages", func(t *testing.T) {
		if code, _ := alice.get("/health"); code != http.StatusForbidden {
			t.Fatalf("a reviewer got /health: %d", code)
		}
		root := newClient(t, srv.URL, "key-root")
		code, body := root.get("/health")
		if code != 200 || !strings.Contains(body, `<td id="decided">1</td>`) {
			t.Fatalf("/health: %d %s", code, body)
		}
		if code, body := root.get("/reviewers"); code != 200 || !strings.Contains(body, "<td>alice</td>") {
			t.Fatalf("/reviewers: %d", code)
		}
	})
}

func benchClaimAndDecide(b *testing.B) {
	cfg := testConfig()
	q := NewQueue(NewMemoryLeaser(), cfg.Lease)
	fill(b, q, 10_000+b.N)
	s := NewServer(cfg, Options{Queue: q, Writer: &memWriter{}})
	rec := httptest.NewRecorder()
	login := httptest.NewRequest("POST", "/login", strings.NewReader("key=key-alice"))
	login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s.ServeHTTP(rec, login)
	cookie := rec.Result().Cookies()[0]
	var csrf string
	for _, se := range s.sessions {
		csrf = se.csrf
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(cookie)
		s.ServeHTTP(rec, req)
		body := rec.Body.String()
		id, claim := idRe.FindStringSubmatch(body)[1], claimRe.FindStringSubmatch(body)[1]
		rec = httptest.NewRecorder()
		req = httptest.NewRequest("POST", "/decide", strings.NewReader(url.Values{"csrf": {csrf}, "id": {id}, "claim": {claim}, "decision": {"allow"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(cookie)
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			b.Fatalf("decide: %d %s", rec.Code, rec.Body.String())
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}
