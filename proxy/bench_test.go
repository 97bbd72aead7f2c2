package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/guardrails"
)

// BenchmarkProxyOverhead measures non-streaming requests through the proxy
// with the default-style rails (injection, PII masking and output checks)
// against the same requests sent straight to the stand-in upstream, and
// reports the proxy's added p50 and p99 latency.
func BenchmarkProxyOverhead(b *testing.B) {
	b.Run("structured", func(b *testing.B) {
		benchOverhead(b, nil, "", `{"model":"stand-in","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"What is the capital of France? Reply to jo@example.com please."}]}`)
	})
	// Names on: the pii rail and the masking run the tagger over the text.
	b.Run("names", func(b *testing.B) {
		benchOverhead(b, []string{"PERSON", "STREET_ADDRESS", "GPE", "ORGANIZATION"}, ", entities: [PERSON, STREET_ADDRESS, GPE, ORGANIZATION]",
			`{"model":"stand-in","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"My name is Priya Raman and I live at 42 Elm Street, Springfield. I work for Acme Corp in Boston; my manager John Smith wants the report. What is the capital of France? Reply to jo@example.com please."}]}`)
	})
}

func benchOverhead(b *testing.B, entities []string, piiParams, reqBody string) {
	up := httptest.NewServer(&upstream{reply: "The capital of France is Paris, a city of about two million people."})
	defer up.Close()
	p, err := guardrails.ParsePolicy([]byte(`
rails:
  input:
    - {scanner: injection, action: block}
    - {scanner: pii, action: mask` + piiParams + `}
    - {scanner: secrets, action: block}
  output:
    - {scanner: secrets, action: block}
    - {scanner: urls, action: flag}
`))
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Upstream: Upstream{BaseURL: up.URL + "/v1"}, MaskEntities: entities}, Options{Rails: guardrails.NewEngine(p)})
	if err != nil {
		b.Fatal(err)
	}
	ps := httptest.NewServer(s)
	defer ps.Close()
	body := []byte(reqBody)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	measure := func(url string, n int) []time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			start := time.Now()
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			d[i] = time.Since(start)
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d
	}
	measure(up.URL+"/v1/chat/completions", 200) // warm both paths
	measure(ps.URL+"/v1/chat/completions", 200)
	b.ResetTimer()
	start := time.Now()
	via := measure(ps.URL+"/v1/chat/completions", b.N)
	elapsed := time.Since(start)
	b.StopTimer()
	direct := measure(up.URL+"/v1/chat/completions", b.N)
	pct := func(d []time.Duration, q float64) float64 {
		return float64(d[min(len(d)-1, int(q*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(via, 0.5)-pct(direct, 0.5), "added_p50_ms")
	b.ReportMetric(pct(via, 0.99)-pct(direct, 0.99), "added_p99_ms")
}

// BenchmarkStreamTTFT measures time to the first content chunk of a
// streamed reply through the proxy (which holds back HoldBack characters
// until the output rails have seen them) against the upstream directly.
// The stand-in sends one word per millisecond, as a model decodes.
func BenchmarkStreamTTFT(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i, word := range bytes.Fields([]byte("The capital of France is Paris, a city of about two million people, known for its museums and food.")) {
			role := ""
			if i == 0 {
				role = `"role":"assistant",`
			}
			w.Write([]byte(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{` + role + `"content":"` + string(word) + ` "},"finish_reason":null}]}` + "\n\n"))
			w.(http.Flusher).Flush()
			time.Sleep(time.Millisecond)
		}
		w.Write([]byte("data: [DONE]\n\n"))
	}))
	defer up.Close()
	p, _ := guardrails.ParsePolicy([]byte(`rails: {output: [{scanner: secrets, action: block}, {scanner: banned, action: block, words: [idiot]}]}`))
	s, _ := New(Config{Upstream: Upstream{BaseURL: up.URL + "/v1"}}, Options{Rails: guardrails.NewEngine(p)})
	ps := httptest.NewServer(s)
	defer ps.Close()
	body := []byte(`{"model":"m","stream":true,"messages":[{"role":"user","content":"capital of France?"}]}`)
	ttft := func(url string) time.Duration {
		start := time.Now()
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		buf := make([]byte, 4096)
		var seen []byte
		for {
			n, err := resp.Body.Read(buf)
			seen = append(seen, buf[:n]...)
			if bytes.Contains(seen, []byte(`"content":"`)) {
				d := time.Since(start)
				io.Copy(io.Discard, resp.Body)
				return d
			}
			if err != nil {
				b.Fatal("no content")
			}
		}
	}
	var via, direct []time.Duration
	for range b.N {
		via = append(via, ttft(ps.URL+"/v1/chat/completions"))
		direct = append(direct, ttft(up.URL+"/v1/chat/completions"))
	}
	sort.Slice(via, func(i, j int) bool { return via[i] < via[j] })
	sort.Slice(direct, func(i, j int) bool { return direct[i] < direct[j] })
	b.ReportMetric(float64(via[len(via)/2].Microseconds())/1000, "proxy_ttft_p50_ms")
	b.ReportMetric(float64(direct[len(direct)/2].Microseconds())/1000, "direct_ttft_p50_ms")
}
