// Package proxy is `sieve proxy`: an OpenAI-compatible gateway that runs
// the guardrails' input rails on a chat request before the upstream model
// sees it, masks personal data on the way up and restores it on the way
// down, and runs the output rails on the reply, holding back streamed text
// until the window that contains it has passed, so nothing slips through.
package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/guardrails"
	"github.com/sieve-stream/sieve/internal/apikey"
	"github.com/sieve-stream/sieve/internal/resilience"
	"github.com/sieve-stream/sieve/tagger"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config is the proxy section of sieve.yaml.
type Config struct {
	Listen   string   `yaml:"listen"` // default :8080
	Upstream Upstream `yaml:"upstream"`
	// MaxBodyBytes bounds a request (default 1 MiB) and an upstream answer
	// (16×).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Refusal is what a blocked request or reply says.
	Refusal string `yaml:"refusal"`
	// HoldBack is how many characters of a streamed reply are kept back
	// until the output rails have seen what follows them; Context is how
	// much text before a segment's own each check reads again (characters,
	// at about six a word; see docs/proxy.md).
	HoldBack int `yaml:"hold_back"`
	Context  int `yaml:"context"`
	// AuditTopic, when set, receives every rail decision (sieve proxy
	// writes it with the kafka section's brokers).
	AuditTopic string `yaml:"audit_topic"`
	// Keys, when set, are the proxy's API keys (sha256 hex of the key, never
	// the key), each with an id and a rate limit.
	Keys []Key `yaml:"keys"`
	// LimiterFailOpen lets a rate-limited key's requests through while the
	// limiter fails (its Redis is down). Off by default: a limit that stops
	// holding when its store does is no limit.
	LimiterFailOpen bool `yaml:"limiter_fail_open"`
	// MaxModerationInputs bounds the inputs of one /v1/moderations request
	// (default 256).
	MaxModerationInputs int `yaml:"max_moderation_inputs"`
	// ReadTimeout bounds reading a whole request, body included (default
	// 30s); IdleTimeout a kept-alive connection's wait for the next one
	// (default 120s). Headers must arrive within 10s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// InputRoles are the roles whose turns the input rails read (default
	// every role: DefaultInputRoles); MaskRoles those whose personal data
	// is masked before the upstream sees it (default user and tool).
	InputRoles []string `yaml:"input_roles"`
	MaskRoles  []string `yaml:"mask_roles"`
	// MaskEntities adds named entities to what is masked, found by the
	// built-in tagger: PERSON, STREET_ADDRESS, GPE, ORGANIZATION,
	// DATE_TIME, AGE, NRP (default none: only the personal data with a
	// format is masked). Placeholders such as <PERSON_1> are restored in
	// the reply.
	MaskEntities []string `yaml:"mask_entities"`
	// MaxRailBytes bounds one text the input rails read (default 128 KiB):
	// a longer turn is refused before the rails spend seconds on it, never
	// read in part (a part unread is a place to hide an injection).
	MaxRailBytes int `yaml:"max_rail_bytes"`
}

// EnsureDefaults fills the fields left unset.
func (c *Config) EnsureDefaults() {
	if c.Listen == "" {
		c.Listen = ":8080"
	}
	if c.Upstream.Timeout <= 0 {
		c.Upstream.Timeout = 60 * time.Second
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.Refusal == "" {
		c.Refusal = "Sorry, I can't help with that."
	}
	if c.HoldBack <= 0 {
		c.HoldBack = 40
	}
	if c.Context <= 0 {
		c.Context = 200
	}
	if c.InputRoles == nil {
		c.InputRoles = DefaultInputRoles
	}
	if c.MaskRoles == nil {
		c.MaskRoles = DefaultMaskRoles
	}
	if c.MaxRailBytes <= 0 {
		c.MaxRailBytes = 128 << 10
	}
	if c.MaxModerationInputs <= 0 {
		c.MaxModerationInputs = 256
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 30 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 120 * time.Second
	}
}

// Validate returns the first bad field of a proxy section that `sieve
// proxy` will serve.
func (c *Config) Validate() error {
	if c.Upstream.BaseURL == "" {
		return errors.New("proxy.upstream.base_url: required")
	}
	for i, e := range c.MaskEntities {
		if _, ok := tagger.LabelOf(e); !ok {
			return fmt.Errorf("proxy.mask_entities[%d]: %q is not PERSON, STREET_ADDRESS, GPE, ORGANIZATION, DATE_TIME, AGE or NRP", i, e)
		}
	}
	for i, k := range c.Keys {
		if len(k.SHA256) != 64 {
			return fmt.Errorf("proxy.keys[%d].sha256: want the 64-hex-digit SHA-256 of the key", i)
		}
		if k.RPS < 0 || k.Burst < 0 {
			return fmt.Errorf("proxy.keys[%d]: rps and burst must not be negative", i)
		}
	}
	return nil
}

// Upstream is the model server behind the proxy.
type Upstream struct {
	BaseURL string        `yaml:"base_url"` // as in http://vllm:8000/v1
	APIKey  string        `yaml:"api_key"`  // the upstream's key, sent as a bearer token
	Timeout time.Duration `yaml:"timeout"`  // default 60s
	// ForwardClientAuth sends the client's own Authorization upstream
	// instead of APIKey (off by default: proxy keys stay at the proxy).
	ForwardClientAuth bool `yaml:"forward_client_auth"`
}

// Key is one proxy API key.
type Key struct {
	ID     string  `yaml:"id"`     // names the key in logs, metrics and audit events
	SHA256 string  `yaml:"sha256"` // hex SHA-256 of the key (printf %s KEY | sha256sum), never the key
	RPS    float64 `yaml:"rps"`    // sustained requests per second; 0: unlimited
	Burst  int     `yaml:"burst"`  // default max(1, rps)
}

// Limiter decides whether a key may make a request now, and if not, when.
type Limiter interface {
	Allow(ctx context.Context, key Key) (ok bool, retryAfter time.Duration, err error)
}

// Server handles the OpenAI-compatible API.
type Server struct {
	cfg        Config
	rails      *guardrails.Engine
	moderators []classifiers.Classifier
	limiter    Limiter
	auditor    Auditor
	m          *Metrics
	// breaker opens on connection failures, which are the upstream's for
	// everyone; tenants holds one breaker per key for its 5xx answers, so
	// one tenant's failing requests cannot shut out the others.
	breaker   *resilience.Breaker
	tenantsMu sync.Mutex
	tenants   map[string]*resilience.Breaker
	http      *http.Client
	keys      map[string]Key
	tracer    trace.Tracer
	// pii finds what masking hides: the personal data with a format, and
	// the named entities of MaskEntities.
	pii guardrails.PII
	log *slog.Logger
	mux *http.ServeMux
}

// Options are the parts a Server uses.
type Options struct {
	Rails      *guardrails.Engine
	Moderators []classifiers.Classifier // answer /v1/moderations
	Limiter    Limiter                  // default: in-process token buckets
	Auditor    Auditor                  // default: none
	Metrics    *Metrics
	Logger     *slog.Logger
	// Tracer traces requests (a server span each, with the input rails,
	// the upstream call and the relay with the output rails as children)
	// and carries the W3C trace context to the upstream; default: none.
	Tracer trace.Tracer
}

// New returns a server.
func New(cfg Config, o Options) (*Server, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Upstream.BaseURL = strings.TrimRight(cfg.Upstream.BaseURL, "/")
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Limiter == nil {
		o.Limiter = NewLocalLimiter()
	}
	if o.Tracer == nil {
		o.Tracer = noop.NewTracerProvider().Tracer("")
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Rails == nil {
		p, _ := guardrails.ParsePolicy([]byte("rails: {}"))
		o.Rails = guardrails.NewEngine(p)
	}
	s := &Server{cfg: cfg, rails: o.Rails, moderators: o.Moderators, limiter: o.Limiter, auditor: o.Auditor, m: o.Metrics, log: o.Logger, tracer: o.Tracer,
		http: &http.Client{Timeout: cfg.Upstream.Timeout}, keys: map[string]Key{}, mux: http.NewServeMux()}
	s.tenants = map[string]*resilience.Breaker{}
	if len(cfg.MaskEntities) > 0 {
		m, err := tagger.Builtin()
		if err != nil {
			return nil, fmt.Errorf("proxy.mask_entities: the built-in tagger: %w", err)
		}
		s.pii = guardrails.PII{Tagger: m, JoinAddresses: true}
		for _, e := range cfg.MaskEntities {
			l, _ := tagger.LabelOf(e)
			s.pii.Entities = append(s.pii.Entities, l)
		}
	}
	s.breaker = &resilience.Breaker{Threshold: 5, Cooldown: 5 * time.Second, OnChange: func(_, to resilience.BreakerState) {
		s.log.Warn("upstream breaker changed state", "state", to.String())
	}}
	for _, k := range cfg.Keys {
		s.keys[strings.ToLower(k.SHA256)] = k
	}
	s.mux.HandleFunc("POST /v1/chat/completions", s.counted("chat", s.chat))
	s.mux.HandleFunc("GET /v1/models", s.counted("models", s.models))
	s.mux.HandleFunc("POST /v1/moderations", s.counted("moderations", s.moderate))
	return s, nil
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) { w.code = c; w.ResponseWriter.WriteHeader(c) }
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) counted(endpoint string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := s.tracer.Start(ctx, "sieve.proxy "+endpoint, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.route", endpoint), attribute.String("http.request.method", r.Method)))
		h(sw, r.WithContext(ctx))
		span.SetAttributes(attribute.Int("http.response.status_code", sw.code))
		if sw.code >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.code))
		}
		span.End()
		s.m.Requests.WithLabelValues(endpoint, strconv.Itoa(sw.code)).Inc()
	}
}

// propagator carries W3C trace context from clients and to the upstream.
var propagator = propagation.TraceContext{}

// railSpan opens a rail's span under the request's.
func (s *Server) railSpan(ctx context.Context, rail string) trace.Span {
	_, span := s.tracer.Start(ctx, "sieve.rail "+rail, trace.WithAttributes(attribute.String("sieve.rail", rail)))
	return span
}

func endRail(span trace.Span, res guardrails.Result) {
	a := string(res.Action)
	if a == "" {
		a = "allow"
	}
	span.SetAttributes(attribute.String("sieve.rail.action", a))
	span.End()
}

// audit records a rail decision, with the request id and key id only.
func (s *Server) audit(reqID, keyID, rail string, res guardrails.Result) {
	if s.auditor != nil {
		s.auditor.Record(reqID, keyID, rail, "", res)
	}
	if res.Action == guardrails.ActionBlock {
		s.m.Blocks.WithLabelValues(rail).Inc()
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// apiError writes OpenAI's error shape.
func apiError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var c any
	if code != "" {
		c = code
	}
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c}})
}

// admit checks the content type, the key and its rate limit, and reads the
// body. It answers the client itself when it returns nil.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) ([]byte, *Key) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		apiError(w, http.StatusUnsupportedMediaType, "invalid_request_error", "unsupported_media_type", "Content-Type must be application/json")
		return nil, nil
	}
	key, ok := s.authorize(w, r)
	if !ok {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		apiError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "Request body too large.")
		return nil, nil
	}
	return body, key
}

// authorize checks the request's key and its rate limit; false means the
// answer (401, 429, 503) is written. Without configured keys every request
// passes, with a nil key.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (*Key, bool) {
	if len(s.keys) == 0 {
		return nil, true
	}
	// The scheme is case-insensitive (RFC 9110, 11.1).
	scheme, tok, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	k, known := s.keys[apikey.Hash(strings.TrimSpace(tok))]
	if !strings.EqualFold(scheme, "Bearer") || !known {
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
		return nil, false
	}
	allowed, wait, err := s.limiter.Allow(r.Context(), k)
	switch {
	case err != nil && (s.cfg.LimiterFailOpen || k.RPS <= 0):
		s.log.Warn("rate limiter failed; letting the request through (proxy.limiter_fail_open)", "key", k.ID, "err", err)
	case err != nil:
		s.log.Warn("rate limiter failed; refusing the limited key's request", "key", k.ID, "err", err)
		w.Header().Set("Retry-After", "1")
		apiError(w, http.StatusServiceUnavailable, "server_error", "rate_limiter_unavailable", "The rate limiter is unavailable; try again shortly.")
		return nil, false
	case !allowed:
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		apiError(w, http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded", "Rate limit reached for this key.")
		return nil, false
	}
	return &k, true
}

// HTTPServer is the proxy's http.Server with its timeouts: a slow or
// stalled client cannot hold a connection past them. No WriteTimeout: a
// streamed reply may rightly take minutes.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: s.cfg.ReadTimeout,
		IdleTimeout: s.cfg.IdleTimeout, MaxHeaderBytes: 64 << 10}
}

// requestID is the client's X-Request-Id when it is a short token, else a
// new one: the header is echoed back and logged.
func requestID(r *http.Request) string {
	id := r.Header.Get("X-Request-Id")
	ok := id != "" && len(id) <= 128
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c > ' ' && c < 0x7f
	}
	if !ok {
		return "req-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return id
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, key := s.admit(w, r)
	if body == nil {
		return
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", "We could not parse the JSON body of your request.")
		return
	}
	var msgs []rawMessage
	if err := json.Unmarshal(req["messages"], &msgs); err != nil || len(msgs) == 0 {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_messages", "'messages' must be a non-empty array of messages.")
		return
	}
	var model string
	_ = json.Unmarshal(req["model"], &model)
	var stream bool
	_ = json.Unmarshal(req["stream"], &stream)
	tenant := ""
	if key != nil {
		tenant = key.ID
	}
	reqID := requestID(r)
	w.Header().Set("X-Request-Id", reqID)
	started := time.Now()

	// Input rails on every text of every turn of the configured roles,
	// each read on its own: an injection in a system prompt, a tool result,
	// an earlier turn, a name or an image URL is as dangerous as one in
	// the last user turn. The first block wins.
	vault := guardrails.NewVault()
	railStart := time.Now()
	var worst guardrails.Result
	inSpan := s.railSpan(r.Context(), "input")
	for _, m := range msgs {
		if !slices.Contains(s.cfg.InputRoles, m.role()) {
			continue
		}
		texts := m.texts()
		for _, t := range texts {
			if len(t) > s.cfg.MaxRailBytes {
				inSpan.End()
				apiError(w, http.StatusBadRequest, "invalid_request_error", "message_too_long",
					fmt.Sprintf("A %s message has a text of %d bytes; the proxy checks at most %d (proxy.max_rail_bytes).", m.role(), len(t), s.cfg.MaxRailBytes))
				return
			}
		}
		for _, t := range texts {
			res := s.rails.Input(t, tenant, "chat")
			if res.Action == guardrails.ActionBlock {
				endRail(inSpan, res)
				s.m.Rail.WithLabelValues("input").Observe(since(railStart))
				s.audit(reqID, tenant, "input", res)
				s.refuse(w, model, stream, "input", res)
				return
			}
			if guardrails.Severity(res.Action) > guardrails.Severity(worst.Action) {
				worst = res
			}
		}
	}
	endRail(inSpan, worst)
	s.m.Rail.WithLabelValues("input").Observe(since(railStart))
	s.audit(reqID, tenant, "input", worst)
	// Personal data never reaches the upstream: the turns of the mask
	// roles are masked reversibly, in place, whatever the rails' other
	// findings.
	for _, m := range msgs {
		if slices.Contains(s.cfg.MaskRoles, m.role()) {
			m.mask(vault, s.pii)
		}
	}
	mb, _ := json.Marshal(msgs)
	req["messages"] = mb
	up, _ := json.Marshal(req)

	ureq, err := http.NewRequestWithContext(r.Context(), http.MethodPost, s.cfg.Upstream.BaseURL+"/chat/completions", bytes.NewReader(up))
	if err != nil {
		apiError(w, http.StatusInternalServerError, "server_error", "", err.Error())
		return
	}
	ureq.Header.Set("Content-Type", "application/json")
	if s.cfg.Upstream.ForwardClientAuth {
		ureq.Header.Set("Authorization", r.Header.Get("Authorization"))
	} else if s.cfg.Upstream.APIKey != "" {
		ureq.Header.Set("Authorization", "Bearer "+s.cfg.Upstream.APIKey)
	}
	uctx, uspan := s.tracer.Start(r.Context(), "sieve.proxy.upstream", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("server.address", ureq.URL.Host)))
	propagator.Inject(uctx, propagation.HeaderCarrier(ureq.Header))
	resp, err := s.upstream(ureq.WithContext(uctx), tenant)
	if err != nil {
		uspan.SetStatus(codes.Error, err.Error())
	} else {
		uspan.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	}
	uspan.End()
	if errors.Is(err, errBreakerOpen) {
		w.Header().Set("Retry-After", "5")
		apiError(w, http.StatusServiceUnavailable, "upstream_error", "upstream_unavailable", "The upstream model server is failing; try again shortly.")
		return
	}
	if err != nil {
		apiError(w, http.StatusBadGateway, "upstream_error", "upstream_unavailable", "The upstream model server did not answer.")
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.upstreamError(w, resp)
		return
	}
	// The output rails run as the reply is relayed: one span for both.
	outSpan := s.railSpan(r.Context(), "output")
	var outWorst guardrails.Result
	audit := func(res guardrails.Result) {
		if guardrails.Severity(res.Action) > guardrails.Severity(outWorst.Action) {
			outWorst = res
		}
		s.audit(reqID, tenant, "output", res)
	}
	defer func() { endRail(outSpan, outWorst) }()
	if stream {
		s.relayStream(w, resp.Body, tenant, vault, audit, started)
	} else {
		s.relayJSON(w, resp.Body, tenant, vault, audit)
	}
	s.m.Upstream.Observe(since(started))
}

// errBreakerOpen is answered while the upstream's breaker is open.
var errBreakerOpen = errors.New("upstream breaker open")

// upstreamError answers for an upstream's error in the proxy's own words:
// its body may echo the proxy's upstream key, and its 401 is about the
// proxy's credentials, not the client's. A short error message without the
// key is kept for 4xx answers (a context length exceeded, say), which the
// client can act on.
func (s *Server) upstreamError(w http.ResponseWriter, resp *http.Response) {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(raw, &body)
	msg := body.Error.Message
	if len(msg) > 500 || msg == "" || (s.cfg.Upstream.APIKey != "" && strings.Contains(msg, s.cfg.Upstream.APIKey)) {
		msg = ""
	}
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		apiError(w, http.StatusBadGateway, "upstream_error", "upstream_auth", "The upstream model server refused the proxy's credentials.")
	case code == http.StatusTooManyRequests:
		if ra := resp.Header.Get("Retry-After"); ra != "" && len(ra) < 32 {
			w.Header().Set("Retry-After", ra)
		}
		apiError(w, http.StatusTooManyRequests, "upstream_error", "upstream_rate_limited", "The upstream model server is rate limiting; try again shortly.")
	case code >= 400 && code < 500:
		text := fmt.Sprintf("The upstream model server refused the request (status %d).", code)
		if msg != "" {
			text += " It said: " + msg
		}
		apiError(w, code, "invalid_request_error", "upstream_rejected", text)
	default:
		apiError(w, http.StatusBadGateway, "upstream_error", "upstream_failed", fmt.Sprintf("The upstream model server failed (status %d).", code))
	}
}

// tenantBreaker is the breaker of one key's upstream answers.
func (s *Server) tenantBreaker(tenant string) *resilience.Breaker {
	s.tenantsMu.Lock()
	defer s.tenantsMu.Unlock()
	b := s.tenants[tenant]
	if b == nil {
		if len(s.tenants) > 10_000 {
			clear(s.tenants) // keys come from the config; bound it anyway
		}
		b = &resilience.Breaker{Threshold: 5, Cooldown: 5 * time.Second, OnChange: func(_, to resilience.BreakerState) {
			s.log.Warn("upstream breaker of a key changed state", "key", tenant, "state", to.String())
		}}
		s.tenants[tenant] = b
	}
	return b
}

// upstream sends a request under two breakers: the upstream's, which five
// connection failures in a row open for everyone, and the tenant's, which
// five 5xx answers to that tenant's requests open for that tenant alone.
// While one is open requests are answered 503 at once instead of piling up.
func (s *Server) upstream(req *http.Request, tenant string) (*http.Response, error) {
	tb := s.tenantBreaker(tenant)
	if !s.breaker.Allow() || !tb.Allow() {
		return nil, errBreakerOpen
	}
	resp, err := s.send(req)
	s.breaker.Done(err == nil)
	tb.Done(err == nil && resp.StatusCode < 500)
	return resp, err
}

// send sends req, once more only when the connection failed before any of
// it was sent (a refused dial): a request that timed out or broke after it
// left may have been processed, and a chat completion is neither free nor
// idempotent.
func (s *Server) send(req *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(req.Body)
	var last error
	for attempt := 0; attempt < 2; attempt++ {
		req.Body = io.NopCloser(bytes.NewReader(body))
		resp, err := s.http.Do(req)
		if err == nil {
			return resp, nil
		}
		last = err
		var op *net.OpError
		if req.Context().Err() != nil || !errors.As(err, &op) || op.Op != "dial" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, last
}

// refuse answers a blocked request in OpenAI's shape, with a sieve object
// naming the rail and what it found, and headers clients can act on.
func (s *Server) refuse(w http.ResponseWriter, model string, stream bool, rail string, res guardrails.Result) {
	info := sieveInfo(rail, res)
	w.Header().Set("X-Sieve-Decision", "block")
	w.Header().Set("X-Sieve-Rail", rail)
	if stream {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		sse := &chunker{w: w, id: "chatcmpl-sieve-" + strconv.FormatInt(time.Now().UnixNano(), 36), model: model}
		sse.content(s.cfg.Refusal)
		sse.finish("content_filter", info)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-sieve-" + strconv.FormatInt(time.Now().UnixNano(), 36), "object": "chat.completion",
		"created": time.Now().Unix(), "model": model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "content_filter",
			"message": map[string]any{"role": "assistant", "content": s.cfg.Refusal, "refusal": s.cfg.Refusal}}},
		"sieve": info,
	})
}

func sieveInfo(rail string, res guardrails.Result) map[string]any {
	info := map[string]any{"decision": res.Action, "rail": rail}
	if len(res.Findings) > 0 {
		f := res.Findings[0]
		info["scanner"], info["reason"] = f.Scanner, f.Label
	}
	return info
}

// safeCut moves a cut back so it splits neither a UTF-8 character nor a
// mask placeholder ("<EMAIL_ADDRESS_1>") that restoring must see whole.
func safeCut(s string, i int) int {
	for i > 0 && i < len(s) && !utf8.RuneStart(s[i]) {
		i--
	}
	if lt := strings.LastIndexByte(s[:i], '<'); lt >= 0 && !strings.Contains(s[lt:i], ">") && i-lt < 40 {
		i = lt
	}
	return i
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	// The listing goes upstream with the proxy's key: only the proxy's
	// clients may ask for it, within their rate limits.
	if _, ok := s.authorize(w, r); !ok {
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, s.cfg.Upstream.BaseURL+"/models", nil)
	if s.cfg.Upstream.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.Upstream.APIKey)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		apiError(w, http.StatusBadGateway, "upstream_error", "upstream_unavailable", "The upstream model server did not answer.")
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, s.cfg.MaxBodyBytes))
}
