package remote

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/pipeline"
)

func TestClientAgainstServer(t *testing.T) {
	rules, err := classifiers.NewRules(classifiers.DefaultRules)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(rules))
	defer srv.Close()
	c, err := Dial(context.Background(), Config{URL: srv.URL, Model: "rules-baseline", MaxBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Describe()
	if strings.Join(d.Labels, ",") != strings.Join(rules.Describe().Labels, ",") || d.Version != rules.Describe().Version {
		t.Fatalf("metadata %+v", d)
	}
	texts := []string{"WIN a FREE prize now, click here http://x.example", "see you later", "shut up you stupid idiot"}
	got, err := c.Classify(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := rules.Classify(context.Background(), texts)
	for i := range texts {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("text %d label %d: remote %v, local %v", i, j, got[i][j], want[i][j])
			}
		}
	}
}

func TestErrorsTransientOrNot(t *testing.T) {
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, status, ErrorResponse{Error: "busy"})
	}))
	c, err := Dial(context.Background(), Config{URL: srv.URL, Model: "m", Labels: []string{"spam"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Classify(context.Background(), []string{"x"})
	if !pipeline.IsTransient(err) {
		t.Fatalf("503 must be transient: %v", err)
	}
	status = http.StatusBadRequest
	_, err = c.Classify(context.Background(), []string{"x"})
	if err == nil || pipeline.IsTransient(err) {
		t.Fatalf("400 must be permanent: %v", err)
	}
	srv.Close()
	_, err = c.Classify(context.Background(), []string{"x"})
	if !pipeline.IsTransient(err) {
		t.Fatalf("connection refused must be transient: %v", err)
	}
}

func TestServerRejectsBadRequests(t *testing.T) {
	rules, _ := classifiers.NewRules(classifiers.DefaultRules)
	srv := httptest.NewServer(NewHandler(rules))
	defer srv.Close()
	for _, body := range []string{`not json`, `{"inputs":[]}`, `{"inputs":[{"name":"text","shape":[2],"datatype":"BYTES","data":["a"]}]}`,
		`{"inputs":[{"name":"text","shape":[1],"datatype":"FP32","data":[1]}]}`} {
		resp, err := http.Post(srv.URL+"/v2/models/rules-baseline/infer", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d", body, resp.StatusCode)
		}
	}
	resp, _ := http.Get(srv.URL + "/v2/models/nope")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown model: %d", resp.StatusCode)
	}
	if _, err := Dial(context.Background(), Config{URL: srv.URL, Model: "nope"}); err == nil || errors.Unwrap(err) == nil {
		t.Errorf("dialing an unknown model must fail: %v", err)
	}
}
