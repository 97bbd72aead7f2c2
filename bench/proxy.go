package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"time"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/guardrails"
	"github.com/sieve-stream/sieve/internal/openaitest"
	"github.com/sieve-stream/sieve/proxy"
)

// DefaultProxyRails are the rails `sieve bench proxy` runs when the config
// names no policy: what a chat product would put in front of a model.
const DefaultProxyRails = `
rails:
  input:
    - {scanner: injection, action: block}
    - {scanner: pii, action: mask}
    - {scanner: secrets, action: block}
  output:
    - {scanner: secrets, action: block}
    - {scanner: urls, action: flag}
`

// ProxyOptions configure `sieve bench proxy`.
type ProxyOptions struct {
	Config      proxy.Config // its upstream is replaced by the stand-in
	Rails       *guardrails.Engine
	Moderators  []classifiers.Classifier
	Requests    int // per mode
	Concurrency int
	// Reply is what the stand-in upstream answers.
	Reply string
}

// ProxyMode is one mode's figures: the proxy against the stand-in
// upstream asked directly, the same requests, the same concurrency.
type ProxyMode struct {
	ReqPerSec    float64 `json:"req_per_sec"`
	DirectPerSec float64 `json:"direct_req_per_sec"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	AddedP50ms   float64 `json:"added_p50_ms"`
	AddedP99ms   float64 `json:"added_p99_ms"`
	Errors       int     `json:"errors"`
}

// ProxyResult has the JSON and the streamed figures.
type ProxyResult struct {
	JSON     ProxyMode `json:"json"`
	Streamed ProxyMode `json:"streamed"`
}

// Proxy runs the chat proxy in process in front of a local stand-in
// upstream and measures requests per second and the latency it adds, for
// JSON and for streamed replies.
func Proxy(ctx context.Context, o ProxyOptions) (*ProxyResult, error) {
	if o.Requests <= 0 {
		o.Requests = 2000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Reply == "" {
		o.Reply = "The capital of France is Paris, a city of about two million people, known for its museums, its food and the river Seine."
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		openaitest.WriteChat(w, "stand-in", o.Reply, bytes.Contains(body, []byte(`"stream":true`)))
	}))
	defer up.Close()
	cfg := o.Config
	cfg.Upstream.BaseURL = up.URL + "/v1"
	s, err := proxy.New(cfg, proxy.Options{Rails: o.Rails, Moderators: o.Moderators})
	if err != nil {
		return nil, err
	}
	ps := httptest.NewServer(s)
	defer ps.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * o.Concurrency}}
	res := &ProxyResult{}
	for _, m := range []struct {
		stream bool
		out    *ProxyMode
	}{{false, &res.JSON}, {true, &res.Streamed}} {
		body := []byte(fmt.Sprintf(`{"model":"stand-in","stream":%t,"messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"What is the capital of France? Reply to jo@example.com please."}]}`, m.stream))
		run := func(url string, n int) ([]time.Duration, time.Duration, int) {
			lat := make([]time.Duration, n)
			var next, errs int
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := time.Now()
			for range o.Concurrency {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						mu.Lock()
						i := next
						next++
						mu.Unlock()
						if i >= n || ctx.Err() != nil {
							return
						}
						t := time.Now()
						resp, err := client.Post(url, "application/json", bytes.NewReader(body))
						if err == nil {
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
						lat[i] = time.Since(t)
						if err != nil || resp.StatusCode != http.StatusOK {
							mu.Lock()
							errs++
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
			return lat, elapsed, errs
		}
		run(ps.URL+"/v1/chat/completions", min(200, o.Requests)) // warm both paths
		run(up.URL+"/v1/chat/completions", min(200, o.Requests))
		via, viaT, errs := run(ps.URL+"/v1/chat/completions", o.Requests)
		direct, dirT, _ := run(up.URL+"/v1/chat/completions", o.Requests)
		pct := func(d []time.Duration, q float64) float64 {
			return float64(d[min(len(d)-1, int(q*float64(len(d))))].Microseconds()) / 1000
		}
		*m.out = ProxyMode{ReqPerSec: round(float64(o.Requests)/viaT.Seconds(), 1), DirectPerSec: round(float64(o.Requests)/dirT.Seconds(), 1),
			P50ms: pct(via, 0.5), P99ms: pct(via, 0.99), AddedP50ms: round(pct(via, 0.5)-pct(direct, 0.5), 2),
			AddedP99ms: round(pct(via, 0.99)-pct(direct, 0.99), 2), Errors: errs}
	}
	return res, nil
}
