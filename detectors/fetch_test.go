package detectors

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/contract"
)

// fixedResolver answers every name from a table, as a hostile DNS would.
type fixedResolver map[string][]string

func (r fixedResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range r[host] {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func TestFetchRefusesInternalAddresses(t *testing.T) {
	f := &Fetcher{Resolver: fixedResolver{
		"loopback.test": {"127.0.0.1"},
		"private.test":  {"10.1.2.3"},
		"metadata.test": {"169.254.169.254"},
		"v6.test":       {"::1"},
		"mixed.test":    {"93.184.216.34", "192.168.1.1"},
		"mapped.test":   {"::ffff:127.0.0.1"},
	}}
	for _, u := range []string{
		"http://loopback.test/a.png", "http://private.test/a.png", "http://metadata.test/latest/meta-data",
		"http://v6.test/a.png", "http://mixed.test/a.png", "http://mapped.test/a.png",
		"http://127.0.0.1/a.png", "http://[::1]:8080/a.png", "http://169.254.169.254/", "http://10.0.0.1/",
		// IPv6 zones: a zoned address is in no netip.Prefix.
		"http://[::1%25lo]:8080/a.png", "http://[::1%251]/a.png", "http://[::1%25eth0]/a.png", "http://[::%25lo]/a.png",
		"http://[fe80::1%25eth0]/a.png",
	} {
		_, err := f.Fetch(context.Background(), u)
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s: err = %v, want ErrForbiddenAddress", u, err)
		}
	}
	for _, u := range []string{"file:///etc/passwd", "gopher://x/", "http://user:pw@example.test/"} {
		if _, err := f.Fetch(context.Background(), u); err == nil {
			t.Errorf("%s fetched", u)
		}
	}
}

func TestFetchRechecksRedirects(t *testing.T) {
	png := fixture(t, "c2pa/libpng-test.png")
	mux := http.NewServeMux()
	mux.HandleFunc("/ok.png", func(w http.ResponseWriter, _ *http.Request) { w.Write(png) })
	mux.HandleFunc("/text", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/png") // a lie the sniffer catches
		w.Write([]byte("<html>not an image</html>"))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("/big.png", func(w http.ResponseWriter, _ *http.Request) {
		w.Write(png)
		w.Write(make([]byte, 1<<20))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// The test server is on loopback, so it must be allowed explicitly;
	// the redirect target is not.
	f := &Fetcher{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, MaxBytes: 64 << 10}
	got, err := f.Fetch(context.Background(), srv.URL+"/ok.png")
	if err != nil || len(got) != len(png) {
		t.Fatalf("allowed fetch: %d bytes, %v", len(got), err)
	}
	if _, err := f.Fetch(context.Background(), srv.URL+"/redirect"); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("redirect to metadata: err = %v, want ErrForbiddenAddress", err)
	}
	if _, err := f.Fetch(context.Background(), srv.URL+"/text"); err == nil || !strings.Contains(err.Error(), "not PNG or JPEG") {
		t.Errorf("non-image: err = %v", err)
	}
	if _, err := f.Fetch(context.Background(), srv.URL+"/big.png"); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized: err = %v", err)
	}
	// Without the allow-list entry the same server is refused.
	if _, err := (&Fetcher{}).Fetch(context.Background(), srv.URL+"/ok.png"); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("loopback server without allow-list: err = %v", err)
	}
}

// A failed fetch says the same whether the host answered or not: the
// finding must not tell an author which internal ports are open.
func TestFetchFailureIsNoPortOracle(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>admin console</html>"))
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	f := &Fetcher{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	st := &Stage{Fetch: f.Fetch}
	details := map[string]string{}
	for name, u := range map[string]string{"open port": srv.URL + "/x", "closed port": closedURL + "/x", "404": srv.URL + "/missing"} {
		fs, _ := st.inspect(context.Background(), 0, contract.Media{URL: u}, nil)
		if len(fs) != 1 || fs[0].Signal != "unreadable" {
			t.Fatalf("%s: findings %+v", name, fs)
		}
		details[name] = fs[0].Detail
	}
	if details["open port"] != details["closed port"] || details["open port"] != details["404"] {
		t.Fatalf("details differ by what the host answered: %q", details)
	}
	for _, leak := range []string{"refused", "html", "404", "127.0.0.1"} {
		if strings.Contains(details["open port"], leak) {
			t.Errorf("detail %q reveals %q", details["open port"], leak)
		}
	}
	blocked, _ := (&Stage{Fetch: (&Fetcher{}).Fetch}).inspect(context.Background(), 0, contract.Media{URL: srv.URL + "/x"}, nil)
	if len(blocked) != 1 || !strings.Contains(blocked[0].Detail, "not allowed") {
		t.Fatalf("a refused address: %+v", blocked)
	}
}
