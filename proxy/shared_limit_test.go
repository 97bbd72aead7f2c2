package proxy_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/internal/apikey"
	"github.com/sieve-stream/sieve/internal/redistest"
	"github.com/sieve-stream/sieve/proxy"
)

// Two proxy replicas sharing Redis share one limit per key.
func TestRateLimitSharedAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t, false)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`)
	}))
	defer up.Close()
	key := "sk-shared"
	cfg := proxy.Config{Upstream: proxy.Upstream{BaseURL: up.URL + "/v1"},
		Keys: []proxy.Key{{ID: fmt.Sprintf("team-%d", time.Now().UnixNano()), SHA256: apikey.Hash(key), RPS: 0.5, Burst: 5}}}
	var replicas []*httptest.Server
	for range 2 {
		rc, err := redis.New(redis.Config{Addrs: []string{srv.Addr}, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		s, err := proxy.New(cfg, proxy.Options{Limiter: redis.NewLimiter(rc)})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(s)
		defer hs.Close()
		replicas = append(replicas, hs)
	}
	ok, limited := 0, 0
	for i := range 12 { // a burst, alternating replicas
		resp := proxy.PostChat(t, replicas[i%2].URL, key, "hi")
		switch resp.StatusCode {
		case 200:
			ok++
		case 429:
			limited++
			if resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	// Burst 5 shared by both replicas (a local limiter each would let 10 through).
	if ok != 5 || limited != 7 {
		t.Fatalf("%d allowed, %d limited; want 5 and 7", ok, limited)
	}
}
