package guardrails

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/sieve-stream/sieve/internal/edit"

	"golang.org/x/net/idna"
)

// URL labels.
const (
	LabelURLDenied     = "url_denied"
	LabelURLShortener  = "url_shortener"
	LabelURLLookalike  = "url_lookalike"
	LabelURLPunycode   = "url_punycode"
	LabelURLNotAllowed = "url_not_allowed"
)

// URLs checks links: hosts on a deny list (or, with an allow list, hosts
// not on it), URL shorteners that hide the destination, internationalised
// (punycode) hosts, and look-alikes of protected domains (paypa1.com for
// paypal.com, an extra label, a swapped letter).
type URLs struct {
	Allow     []string // when set, every other host is flagged
	Deny      []string
	Protected []string // brands whose look-alikes are flagged; default a few common ones
}

var (
	urlRe      = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"'()]+`)
	shorteners = map[string]bool{"bit.ly": true, "tinyurl.com": true, "t.co": true, "goo.gl": true, "ow.ly": true, "is.gd": true,
		"buff.ly": true, "cutt.ly": true, "rebrand.ly": true, "shorturl.at": true, "rb.gy": true, "t.ly": true, "tiny.cc": true}
	defaultProtected = []string{"paypal.com", "google.com", "apple.com", "microsoft.com", "amazon.com", "facebook.com", "instagram.com", "netflix.com"}
)

// Name implements Scanner.
func (URLs) Name() string { return "urls" }

// Labels implements Scanner.
func (URLs) Labels() []string {
	return []string{LabelURLDenied, LabelURLShortener, LabelURLLookalike, LabelURLPunycode, LabelURLNotAllowed}
}

// Scan implements Scanner.
func (u URLs) Scan(text string) []Span {
	protected := u.Protected
	if protected == nil {
		protected = defaultProtected
	}
	var out []Span
	for _, m := range urlRe.FindAllStringIndex(text, -1) {
		raw := strings.TrimRight(text[m[0]:m[1]], ".,;:!?")
		end := m[0] + len(raw)
		if !strings.Contains(strings.ToLower(raw), "://") {
			raw = "http://" + raw
		}
		pu, err := url.Parse(raw)
		if err != nil || pu.Hostname() == "" {
			continue
		}
		host := strings.ToLower(strings.TrimSuffix(pu.Hostname(), "."))
		label := ""
		switch {
		case matchesHost(host, u.Deny):
			label = LabelURLDenied
		case len(u.Allow) > 0 && !matchesHost(host, u.Allow):
			label = LabelURLNotAllowed
		case shorteners[host]:
			label = LabelURLShortener
		case strings.Contains(host, "xn--") || !isASCII(host):
			label = LabelURLPunycode
		case lookalike(host, protected):
			label = LabelURLLookalike
		}
		if label != "" {
			out = append(out, Span{m[0], end, label, 1})
		}
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// matchesHost reports whether host is one of domains or a subdomain of one.
func matchesHost(host string, domains []string) bool {
	for _, d := range domains {
		d = strings.ToLower(d)
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// lookalike reports a host that imitates a protected domain without being
// it: its registrable part is one edit (or one digit-for-letter swap) away,
// or the brand appears as a label of a foreign domain (paypal.com.evil.io).
func lookalike(host string, protected []string) bool {
	if ascii, err := idna.ToASCII(host); err == nil {
		host = ascii
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return false
	}
	reg := labels[len(labels)-2] + "." + labels[len(labels)-1]
	for _, p := range protected {
		if host == p || strings.HasSuffix(host, "."+p) {
			return false
		}
		brand := strings.SplitN(p, ".", 2)[0]
		if reg != p && edit.Distance([]byte(unconfuse(reg)), []byte(p)) <= 1 {
			return true
		}
		for _, l := range labels[:len(labels)-2] {
			if l == brand {
				return true
			}
		}
	}
	return false
}

// unconfuse undoes the digit-for-letter swaps of phishing domains.
func unconfuse(s string) string {
	return strings.NewReplacer("0", "o", "1", "l", "3", "e", "5", "s", "rn", "m", "vv", "w").Replace(s)
}

func init() {
	RegisterScanner(ScannerType{Name: "urls", Summary: "URLs whose host is denied, not allowed, or a look-alike of a known brand",
		Params: []string{"allow", "deny"}, New: func(c *Check) (Scanner, error) { return URLs{Allow: c.Allow, Deny: c.Deny}, nil }})
}
