package proxy_test

// The proxy as an attacker sees it (issue 18): one test per finding, named
// after it. docs/security.md lists them.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/proxy"
)

// attackSetup is a proxy with one key (burst 2, slow refill) in front of an
// upstream that counts its calls.
func attackSetup(t *testing.T, cfg proxy.Config, lim proxy.Limiter) (base string, upstreamCalls *atomic.Int64) {
	t.Helper()
	calls := &atomic.Int64{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == "/v1/models" {
			fmt.Fprint(w, `{"object":"list","data":[]}`)
			return
		}
		fmt.Fprint(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`)
	}))
	t.Cleanup(up.Close)
	cfg.Upstream.BaseURL = up.URL + "/v1"
	cfg.Keys = []proxy.Key{{ID: "team-a", SHA256: proxy.HashKey("sk-good"), RPS: 0.01, Burst: 2}}
	s, err := proxy.New(cfg, proxy.Options{Limiter: lim})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return hs.URL, calls
}

func do(t *testing.T, method, url, auth, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// Finding: GET /v1/models needed no key, was never rate-limited, and went
// upstream with the proxy's key.
func TestModelsNeedsAKeyAndCountsAgainstItsLimit(t *testing.T) {
	base, calls := attackSetup(t, proxy.Config{}, nil)
	if r := do(t, "GET", base+"/v1/models", "", "", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no key: %d", r.StatusCode)
	}
	if calls.Load() != 0 {
		t.Fatal("an unauthenticated listing reached the upstream")
	}
	codes := []int{}
	for range 3 {
		codes = append(codes, do(t, "GET", base+"/v1/models", "Bearer sk-good", "", nil).StatusCode)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests {
		t.Fatalf("with a key of burst 2: %v, want 200 200 429", codes)
	}
}

// Finding: a lower-case "bearer" scheme was refused.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	base, _ := attackSetup(t, proxy.Config{}, nil)
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	for _, auth := range []string{"bearer sk-good", "BEARER sk-good"} {
		if r := do(t, "POST", base+"/v1/chat/completions", auth, body, nil); r.StatusCode != 200 {
			t.Errorf("%q: %d", auth, r.StatusCode)
		}
	}
	if r := do(t, "POST", base+"/v1/chat/completions", "Basic sk-good", body, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic scheme: %d", r.StatusCode)
	}
}

// Finding: a 1 MB X-Request-Id was echoed back.
func TestLongRequestIDIsNotEchoed(t *testing.T) {
	base, _ := attackSetup(t, proxy.Config{}, nil)
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	long := strings.Repeat("x", 100_000)
	r := do(t, "POST", base+"/v1/chat/completions", "Bearer sk-good", body, map[string]string{"X-Request-Id": long})
	if got := r.Header.Get("X-Request-Id"); got == long || len(got) > 128 || got == "" {
		t.Fatalf("X-Request-Id of %d bytes came back", len(got))
	}
	r = do(t, "POST", base+"/v1/chat/completions", "Bearer sk-good", body, map[string]string{"X-Request-Id": "trace-42"})
	if got := r.Header.Get("X-Request-Id"); got != "trace-42" {
		t.Fatalf("a short id was not kept: %q", got)
	}
}

// Finding: /v1/moderations had no input-count limit (120,000 inputs made a
// 102 MB response).
func TestModerationsInputCountIsBounded(t *testing.T) {
	base, _ := attackSetup(t, proxy.Config{MaxBodyBytes: 8 << 20}, nil)
	body := `{"input":[` + strings.TrimSuffix(strings.Repeat(`"a",`, 120_000), ",") + `]}`
	if r := do(t, "POST", base+"/v1/moderations", "Bearer sk-good", body, nil); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("120,000 inputs: %d, want 400", r.StatusCode)
	}
	if r := do(t, "POST", base+"/v1/moderations", "Bearer sk-good", `{"input":["a","b"]}`, nil); r.StatusCode != 200 {
		t.Fatalf("two inputs: %d", r.StatusCode)
	}
}

type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, proxy.Key) (bool, time.Duration, error) {
	return false, 0, errors.New("redis: connection refused")
}

// Finding: the Redis rate limiter failed open: with Redis down, every
// request of a limited key was let through.
func TestLimiterFailsClosedByDefault(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	base, calls := attackSetup(t, proxy.Config{}, failingLimiter{})
	for range 5 {
		if r := do(t, "POST", base+"/v1/chat/completions", "Bearer sk-good", body, nil); r.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("limiter down: %d, want 503", r.StatusCode)
		}
	}
	if calls.Load() != 0 {
		t.Fatalf("%d requests reached the upstream while the limiter was down", calls.Load())
	}
	open, _ := attackSetup(t, proxy.Config{LimiterFailOpen: true}, failingLimiter{})
	if r := do(t, "POST", open+"/v1/chat/completions", "Bearer sk-good", body, nil); r.StatusCode != 200 {
		t.Fatalf("limiter_fail_open: %d", r.StatusCode)
	}
}

// Finding: the HTTP server had no read or idle timeouts; a slow body held
// a connection for 45 s without a key and 150 s with one.
func TestSlowBodyIsCutOff(t *testing.T) {
	s, err := proxy.New(proxy.Config{Upstream: proxy.Upstream{BaseURL: "http://127.0.0.1:1/v1"}, ReadTimeout: 300 * time.Millisecond}, proxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer()
	go hs.Serve(ln)
	defer hs.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"mod")
	// The server must give up on the stalled body and close; a generous
	// bound, far under the 45 s of the finding.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the connection with a stalled body was still open after 10 s")
	}
}
