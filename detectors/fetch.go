package detectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// ErrForbiddenAddress is returned when a media URL resolves to an address
// the fetcher may not reach (loopback, private, link-local, metadata...).
var ErrForbiddenAddress = errors.New("address not allowed")

// errBadURL marks a URL refused for its own form (scheme, credentials),
// before anything is contacted.
var errBadURL = errors.New("media url refused")

// PublicDetail is what a verdict may say of a failed fetch: that the URL was
// malformed or refused by policy, or that it could not be fetched, and
// never what the network answered (connection refused, a status, a content
// type, a size), which would let a message's author use the fetcher to
// probe which hosts and ports answer behind it. The full error is for
// logs.
func PublicDetail(err error) string {
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		return "media url refused: its address is not allowed"
	case errors.Is(err, errBadURL):
		return err.Error()
	}
	return "media url could not be fetched as a PNG or JPEG image"
}

// Resolver is the part of *net.Resolver the fetcher uses; tests swap in
// fixed answers.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Fetcher loads media by URL without becoming a way into the network it
// runs in. Every connection, the first and each redirect's, resolves the
// host once, checks every address, and dials the checked address itself,
// so a DNS answer that changes between check and use (rebinding) cannot
// slip through. Environment proxies are ignored for the same reason.
type Fetcher struct {
	// MaxBytes caps the body; larger responses fail. Default 16 MiB.
	MaxBytes int64
	// Timeout bounds the whole fetch, redirects included. Default 10s.
	Timeout time.Duration
	// MaxRedirects; default 3.
	MaxRedirects int
	// Allow lists prefixes reachable even though they are otherwise
	// refused (an internal media store, say).
	Allow []netip.Prefix
	// Resolver defaults to net.DefaultResolver.
	Resolver Resolver

	client *http.Client
}

// blocked are the ranges no media URL may reach unless allowed.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15",
		"224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "64:ff9b::/96", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

func (f *Fetcher) allowed(a netip.Addr) bool {
	// A zoned address ([fe80::1%eth0], [::1%lo]) names an interface, which
	// no public image URL does; and a zoned address is in no prefix
	// (netip.Prefix.Contains is false for it), so it would slip past every
	// blocked range.
	if a.Zone() != "" {
		return false
	}
	a = a.Unmap()
	for _, p := range f.Allow {
		if p.Contains(a) {
			return true
		}
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

func (f *Fetcher) init() {
	if f.client != nil {
		return
	}
	if f.MaxBytes <= 0 {
		f.MaxBytes = 16 << 20
	}
	if f.Timeout <= 0 {
		f.Timeout = 10 * time.Second
	}
	if f.MaxRedirects <= 0 {
		f.MaxRedirects = 3
	}
	if f.Resolver == nil {
		f.Resolver = net.DefaultResolver
	}
	dialer := &net.Dialer{Timeout: f.Timeout}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			var addrs []netip.Addr
			if a, err := netip.ParseAddr(host); err == nil {
				addrs = []netip.Addr{a}
			} else if addrs, err = f.Resolver.LookupNetIP(ctx, "ip", host); err != nil {
				return nil, fmt.Errorf("resolve %s: %w", host, err)
			}
			for _, a := range addrs {
				if !f.allowed(a) {
					// One bad answer poisons the name: an attacker who
					// controls DNS can order the answers.
					return nil, fmt.Errorf("%w: %s resolves to %s", ErrForbiddenAddress, host, a)
				}
			}
			if len(addrs) == 0 {
				return nil, fmt.Errorf("resolve %s: no addresses", host)
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort(addrs[0].String(), port))
		},
		MaxResponseHeaderBytes: 64 << 10,
		ResponseHeaderTimeout:  f.Timeout,
	}
	f.client = &http.Client{
		Transport: tr,
		Timeout:   f.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > f.MaxRedirects {
				return fmt.Errorf("more than %d redirects", f.MaxRedirects)
			}
			return checkScheme(req.URL)
		},
	}
}

func checkScheme(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q not allowed, only http and https", u.Scheme)
	}
	if u.User != nil {
		return errors.New("credentials in media URLs are not allowed")
	}
	return nil
}

// Fetch returns the body of raw, which must be a PNG or JPEG by its bytes
// (the declared Content-Type is not trusted).
func (f *Fetcher) Fetch(ctx context.Context, raw string) ([]byte, error) {
	f.init()
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: not a URL", errBadURL)
	}
	if err := checkScheme(u); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadURL, err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("media url: %w", err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch media: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch media: status %s", resp.Status)
	}
	if resp.ContentLength > f.MaxBytes {
		return nil, fmt.Errorf("fetch media: %d bytes, over the %d byte limit", resp.ContentLength, f.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch media: %w", err)
	}
	if int64(len(body)) > f.MaxBytes {
		return nil, fmt.Errorf("fetch media: body over the %d byte limit", f.MaxBytes)
	}
	if ct := http.DetectContentType(body); !strings.HasPrefix(ct, "image/png") && !strings.HasPrefix(ct, "image/jpeg") {
		return nil, fmt.Errorf("fetch media: content is %s, not PNG or JPEG", ct)
	}
	return body, nil
}
