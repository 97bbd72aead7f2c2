package review

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/apikey"
)

// Writer writes a decision record and returns once the broker has it
// (kafka's ProduceSync): a decision the console confirmed is on the topic.
type Writer interface {
	Write(ctx context.Context, key, value []byte) error
}

// Attributor explains a label's score word by word (linear.Model does):
// the console highlights the words that drove a flag.
type Attributor interface {
	Attribution(word, label string) float64
}

// Options are what the server is given beyond its config.
type Options struct {
	Queue  *Queue
	Writer Writer
	// Explainers highlight words; the first that knows a label is asked.
	Explainers []Attributor
	Registry   prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Server is the review console.
type Server struct {
	cfg  Config
	o    Options
	keys map[string]Key // by sha256
	mux  *http.ServeMux
	m    metrics

	mu        sync.Mutex
	sessions  map[string]*session
	deciding  sync.Map // item id -> *sync.Mutex
	perReview map[string]*reviewerStats
	byItem    map[string][]Decision // decisions seen per message id (agreement between reviewers)
	claims    map[string]bool       // claims whose decision is counted
}

type session struct {
	reviewer, role, csrf string
	expires              time.Time
}

type reviewerStats struct {
	decisions, agreeModel int
	first, last           time.Time
}

type metrics struct {
	decisions *prometheus.CounterVec
	agree     *prometheus.CounterVec
	action    *prometheus.HistogramVec
	depth     prometheus.GaugeFunc
	oldest    prometheus.GaugeFunc
}

// NewServer returns the console.
func NewServer(cfg Config, o Options) *Server {
	cfg.EnsureDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{cfg: cfg, o: o, keys: map[string]Key{}, mux: http.NewServeMux(), sessions: map[string]*session{},
		perReview: map[string]*reviewerStats{}, byItem: map[string][]Decision{}, claims: map[string]bool{}}
	for _, k := range cfg.Keys {
		s.keys[strings.ToLower(k.SHA256)] = k
	}
	s.m = metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_review_decisions_total",
			Help: "Moderator decisions, by decision and reviewer."}, []string{"decision", "reviewer"}),
		agree: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sieve_review_model_agreement_total",
			Help: "Moderator decisions that agreed with the model's (agree=true) or not."}, []string{"agree"}),
		action: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sieve_review_action_seconds",
			Help: "Time to serve a console action (claim, decide, skip).", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"action"}),
		depth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sieve_review_queue_depth",
			Help: "Items waiting for a decision."}, func() float64 { return float64(o.Queue.Health().Depth) }),
		oldest: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sieve_review_oldest_seconds",
			Help: "Age of the oldest item waiting."}, func() float64 { return o.Queue.Health().OldestAge.Seconds() }),
	}
	if o.Registry != nil {
		o.Registry.MustRegister(s.m.decisions, s.m.agree, s.m.action, s.m.depth, s.m.oldest)
	}
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.authed(s.logout))
	s.mux.HandleFunc("GET /{$}", s.authed(s.next))
	s.mux.HandleFunc("POST /decide", s.authed(s.decide))
	s.mux.HandleFunc("POST /skip", s.authed(s.skip))
	s.mux.HandleFunc("GET /health", s.admin(s.health))
	s.mux.HandleFunc("GET /reviewers", s.admin(s.reviewers))
	return s
}

// ServeHTTP implements http.Handler, with the headers a console of
// sensitive content wants: no framing, no sniffing, no caching.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	// Images are inline data only: loading a poster's URL would tell the
	// poster the moderators' addresses.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'")
	s.mux.ServeHTTP(w, r)
}

const cookieName = "sieve_review"

func (s *Server) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.sessions[c.Value]
	if se == nil || s.o.Now().After(se.expires) {
		delete(s.sessions, c.Value)
		return nil
	}
	return se
}

type handler func(w http.ResponseWriter, r *http.Request, se *session)

func (s *Server) authed(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		se := s.sessionOf(r)
		if se == nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			// Every form carries the session's token: a form posted from
			// another site cannot know it (and SameSite=Strict keeps the
			// cookie away from it as well).
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(se.csrf)) != 1 {
				http.Error(w, "forbidden: missing or wrong CSRF token", http.StatusForbidden)
				return
			}
		}
		h(w, r, se)
	}
}

func (s *Server) admin(h handler) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, se *session) {
		if se.role != RoleAdmin {
			http.Error(w, "forbidden: admins only", http.StatusForbidden)
			return
		}
		h(w, r, se)
	})
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, "login", map[string]any{"Error": r.URL.Query().Get("error") != ""})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	k, ok := s.keys[apikey.Hash(r.PostFormValue("key"))]
	if !ok {
		http.Redirect(w, r, "/login?error=1", http.StatusSeeOther)
		return
	}
	token, csrf := newToken(), newToken()
	exp := s.o.Now().Add(s.cfg.Session)
	s.mu.Lock()
	now := s.o.Now()
	for t, se := range s.sessions { // expired sessions go at the next login
		if now.After(se.expires) {
			delete(s.sessions, t)
		}
	}
	s.sessions[token] = &session{reviewer: k.ID, role: k.Role, csrf: csrf, expires: exp}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/", Expires: exp, MaxAge: int(s.cfg.Session.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, se *session) {
	if c, err := r.Cookie(cookieName); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// span is a piece of the text, highlighted when it drove a flag.
type span struct {
	Text string
	Hot  bool
}

func (s *Server) highlight(it *Item) []span {
	text := contract.JoinTitle(it.Message.Title, it.Message.Text)
	var out []span
	for _, tok := range strings.SplitAfter(text, " ") {
		word := strings.ToLower(strings.Trim(tok, " .,!?;:\"'()[]\n"))
		hot := false
		for _, l := range it.Flags {
			for _, e := range s.o.Explainers {
				if e.Attribution(word, l) > 0.5 {
					hot = true
				}
			}
		}
		out = append(out, span{tok, hot})
	}
	return out
}

func (s *Server) next(w http.ResponseWriter, r *http.Request, se *session) {
	start := time.Now()
	it, claim, err := s.o.Queue.Next(r.Context(), se.reviewer)
	s.m.action.WithLabelValues("claim").Observe(time.Since(start).Seconds())
	if err != nil {
		http.Error(w, "the lease store failed: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	data := map[string]any{"Reviewer": se.reviewer, "Admin": se.role == RoleAdmin, "CSRF": se.csrf, "Blur": *s.cfg.BlurImages}
	if it != nil {
		labels := make([]string, 0, len(it.Labels))
		for l := range it.Labels {
			labels = append(labels, l)
		}
		sort.Slice(labels, func(i, j int) bool { return it.Labels[labels[i]] > it.Labels[labels[j]] })
		type labelRow struct {
			N       int
			Name    string
			Score   float64
			Flagged bool
		}
		var rows []labelRow
		for i, l := range labels {
			rows = append(rows, labelRow{i + 1, l, it.Labels[l], slices.Contains(it.Flags, l)})
		}
		data["Item"], data["Claim"], data["Spans"], data["Labels"] = it, claim, s.highlight(it), rows
		data["Media"] = it.Message.Media
		data["Lease"] = s.cfg.Lease.String()
	}
	s.render(w, "item", data)
}

// ErrNotHeld is why a decision on an item the reviewer no longer holds is
// refused: its lease expired, or another claim replaced it.
var ErrNotHeld = errors.New("this item is no longer yours: its lease expired or it was decided")

func (s *Server) decide(w http.ResponseWriter, r *http.Request, se *session) {
	start := time.Now()
	defer func() { s.m.action.WithLabelValues("decide").Observe(time.Since(start).Seconds()) }()
	id, claim := r.PostFormValue("id"), r.PostFormValue("claim")
	d := contract.Decision(r.PostFormValue("decision"))
	if !d.Valid() {
		http.Error(w, fmt.Sprintf("decision: %q is not %s", d, contract.DecisionNames()), http.StatusBadRequest)
		return
	}
	// One claim, one decision: the check and the write are one step per
	// item, so a form posted twice writes once; other items go on.
	mu, _ := s.deciding.LoadOrStore(id, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer func() {
		mu.(*sync.Mutex).Unlock()
		s.deciding.Delete(id)
	}()
	it := s.o.Queue.Item(id)
	if it == nil || !s.o.Queue.Holds(r.Context(), id, se.reviewer, claim) {
		http.Error(w, ErrNotHeld.Error(), http.StatusConflict)
		return
	}
	var rewrite *string
	if e := r.PostFormValue("rewrite"); r.PostFormValue("edited") == "1" {
		rewrite = &e
	}
	rec := NewDecision(it, se.reviewer, claim, r.PostForm["label"], d, rewrite, s.o.Now())
	// A moderator closing the tab must not cut a write the broker may
	// already hold: the write runs to its own deadline.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	if err := s.o.Writer.Write(wctx, []byte(id), rec.Encode()); err != nil {
		s.o.Logger.Error("decision not written", "id", id, "err", err)
		http.Error(w, "the decision was not written (try again): "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	s.o.Queue.MarkDecided(wctx, id)
	s.record(rec)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// record counts a decision for the pages and metrics, once per claim.
func (s *Server) record(d Decision) {
	s.mu.Lock()
	if s.claims[d.Claim] {
		s.mu.Unlock()
		return
	}
	s.claims[d.Claim] = true
	s.mu.Unlock()
	agree := d.Decision == d.ModelDecision || (d.ModelDecision == "" && d.Decision == contract.DecisionAllow)
	s.m.decisions.WithLabelValues(string(d.Decision), d.Reviewer).Inc()
	s.m.agree.WithLabelValues(fmt.Sprint(agree)).Inc()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.perReview[d.Reviewer]
	if st == nil {
		st = &reviewerStats{first: d.DecidedAt}
		s.perReview[d.Reviewer] = st
	}
	st.decisions++
	if agree {
		st.agreeModel++
	}
	st.last = d.DecidedAt
	s.byItem[d.ID] = append(s.byItem[d.ID], d)
}

// Seen adds a decision read back from the decisions topic (an earlier run
// of the console, or another console) to the pages' figures.
func (s *Server) Seen(d Decision) { s.record(d) }

func (s *Server) skip(w http.ResponseWriter, r *http.Request, se *session) {
	start := time.Now()
	_ = s.o.Queue.Skip(r.Context(), r.PostFormValue("id"), se.reviewer)
	s.m.action.WithLabelValues("skip").Observe(time.Since(start).Seconds())
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request, se *session) {
	h := s.o.Queue.Health()
	s.mu.Lock()
	total, agree := 0, 0
	var first time.Time
	for _, st := range s.perReview {
		total += st.decisions
		agree += st.agreeModel
		if first.IsZero() || st.first.Before(first) {
			first = st.first
		}
	}
	s.mu.Unlock()
	perHour := 0.0
	if hours := s.o.Now().Sub(first).Hours(); total > 0 && hours > 0 {
		perHour = float64(total) / max(hours, 1.0/60)
	}
	s.render(w, "health", map[string]any{"H": h, "Oldest": h.OldestAge.Round(time.Second).String(), "Total": total,
		"PerHour": perHour, "Agreement": ratio(agree, total), "CSRF": se.csrf, "Reviewer": se.reviewer, "Admin": true})
}

func (s *Server) reviewers(w http.ResponseWriter, _ *http.Request, se *session) {
	type row struct {
		ID                  string
		Decisions           int
		PerHour, AgreeModel float64
		Shared, AgreeOthers int
		AgreeOthersShare    float64
	}
	s.mu.Lock()
	var rows []row
	for id, st := range s.perReview {
		r := row{ID: id, Decisions: st.decisions, AgreeModel: ratio(st.agreeModel, st.decisions)}
		if h := st.last.Sub(st.first).Hours(); h > 0 {
			r.PerHour = float64(st.decisions) / max(h, 1.0/60)
		}
		for _, ds := range s.byItem {
			var mine *Decision
			for i := range ds {
				if ds[i].Reviewer == id {
					mine = &ds[i]
				}
			}
			if mine == nil {
				continue
			}
			for _, o := range ds {
				if o.Reviewer != id {
					r.Shared++
					if o.Decision == mine.Decision {
						r.AgreeOthers++
					}
				}
			}
		}
		r.AgreeOthersShare = ratio(r.AgreeOthers, r.Shared)
		rows = append(rows, r)
	}
	s.mu.Unlock()
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	s.render(w, "reviewers", map[string]any{"Rows": rows, "CSRF": se.csrf, "Reviewer": se.reviewer, "Admin": true})
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.o.Logger.Error("page not rendered", "page", name, "err", err)
	}
}

// Serve runs the console until ctx is done.
func (s *Server) Serve(ctx context.Context, addr string) error {
	hs := &http.Server{Addr: addr, Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return hs.Shutdown(sctx)
	case err := <-errc:
		return err
	}
}
