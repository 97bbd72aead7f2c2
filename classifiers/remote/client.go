package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/pipeline"
)

// Config is one remote model in sieve.yaml (classifiers: type remote).
type Config struct {
	// URL is the server's base URL, as in http://triton:8000.
	URL   string `yaml:"url"`
	Model string `yaml:"model"` // the model's name on the server
	// Labels override the model metadata's parameters.labels.
	Labels []string `yaml:"labels"`
	// Kind is binary, multi-class or multi-label (default: metadata, else
	// multi-label).
	Kind      string        `yaml:"kind"`
	Threshold float64       `yaml:"threshold"` // default 0.5 for every label
	Timeout   time.Duration `yaml:"timeout"`   // per request; default 2s
	// MaxBatch splits a micro-batch into requests of at most this many
	// texts (the server's max batch size); default 64.
	MaxBatch int `yaml:"max_batch"`
	// Headers are sent with every request (an API key).
	Headers map[string]string `yaml:"headers"`
}

// Client is a Classifier backed by a v2 inference server. Connection
// failures, timeouts, 429 and 5xx answers are pipeline.Transient: the
// pipeline retries them under the stage's breaker, which pauses
// consumption while the server is away.
type Client struct {
	cfg  Config
	http *http.Client
	desc classifiers.Description
	seq  atomic.Uint64
}

// Dial fetches the model's metadata and returns the client.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.URL == "" || cfg.Model == "" {
		return nil, errors.New("remote: url and model are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 64
	}
	if cfg.Threshold <= 0 {
		cfg.Threshold = 0.5
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	c := &Client{cfg: cfg, http: &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout}).DialContext,
		MaxIdleConnsPerHost: 32, IdleConnTimeout: 90 * time.Second,
	}}}
	var md ModelMetadata
	mctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := c.get(mctx, "/v2/models/"+cfg.Model, &md); err != nil {
		if len(cfg.Labels) == 0 {
			return nil, fmt.Errorf("remote model %s at %s: %w", cfg.Model, cfg.URL, err)
		}
		md = ModelMetadata{Name: cfg.Model} // labels come from the config; metadata can wait
	}
	labels := cfg.Labels
	if len(labels) == 0 && md.Parameters["labels"] != "" {
		labels = strings.Split(md.Parameters["labels"], ",")
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("remote model %s: no labels in its metadata (parameters.labels) or in the config", cfg.Model)
	}
	kind := classifiers.Kind(cfg.Kind)
	if kind == "" {
		kind = classifiers.Kind(md.Parameters["kind"])
	}
	if kind == "" {
		kind = classifiers.MultiLabel
	}
	th := map[string]float64{}
	remote := strings.Split(md.Parameters["thresholds"], ",")
	for i, l := range labels {
		th[l] = cfg.Threshold
		if len(remote) == len(labels) && cfg.Threshold == 0.5 {
			if v, err := strconv.ParseFloat(remote[i], 64); err == nil {
				th[l] = v
			}
		}
	}
	version := "remote"
	if len(md.Versions) > 0 {
		version = md.Versions[len(md.Versions)-1]
	}
	c.desc = classifiers.Description{Name: cfg.Model, Version: version, Kind: kind, Labels: labels, Thresholds: th}
	return c, nil
}

// Describe implements classifiers.Classifier.
func (c *Client) Describe() classifiers.Description { return c.desc }

// Classify implements classifiers.Classifier.
func (c *Client) Classify(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += c.cfg.MaxBatch {
		part := texts[start:min(start+c.cfg.MaxBatch, len(texts))]
		scores, err := c.infer(ctx, part)
		if err != nil {
			return nil, err
		}
		out = append(out, scores...)
	}
	return out, nil
}

func (c *Client) infer(ctx context.Context, texts []string) ([][]float32, error) {
	req := InferRequest{ID: strconv.FormatUint(c.seq.Add(1), 10),
		Inputs:  []Tensor{{Name: InputText, Shape: []int64{int64(len(texts))}, Datatype: "BYTES", Data: texts}},
		Outputs: []RequestedOutput{{Name: OutputScores}}}
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL+"/v2/models/"+c.cfg.Model+"/infer", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	for k, v := range c.cfg.Headers {
		hr.Header.Set(k, v)
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, pipeline.Transient(fmt.Errorf("infer %s: %w", c.cfg.Model, err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, pipeline.Transient(fmt.Errorf("infer %s: reading the answer: %w", c.cfg.Model, err))
	}
	if resp.StatusCode != http.StatusOK {
		var e ErrorResponse
		_ = json.Unmarshal(b, &e)
		err := fmt.Errorf("infer %s: HTTP %d: %s", c.cfg.Model, resp.StatusCode, e.Error)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return nil, pipeline.Transient(err)
		}
		return nil, err
	}
	var ir InferResponse
	if err := json.Unmarshal(b, &ir); err != nil {
		return nil, fmt.Errorf("infer %s: answer is not JSON: %w", c.cfg.Model, err)
	}
	return c.scores(ir, len(texts))
}

func (c *Client) scores(ir InferResponse, n int) ([][]float32, error) {
	k := len(c.desc.Labels)
	for _, t := range ir.Outputs {
		if t.Name != OutputScores {
			continue
		}
		raw, ok := t.Data.([]any)
		if !ok || len(raw) != n*k || len(t.Shape) != 2 || t.Shape[0] != int64(n) || t.Shape[1] != int64(k) {
			return nil, fmt.Errorf("infer %s: output %s has shape %v, want [%d %d]", c.cfg.Model, t.Name, t.Shape, n, k)
		}
		flat := make([]float32, len(raw))
		for i, v := range raw {
			f, ok := v.(float64)
			if !ok {
				return nil, fmt.Errorf("infer %s: output element %d is not a number", c.cfg.Model, i)
			}
			flat[i] = float32(f)
		}
		out := make([][]float32, n)
		for i := range out {
			out[i] = flat[i*k : (i+1)*k : (i+1)*k]
		}
		return out, nil
	}
	return nil, fmt.Errorf("infer %s: no output named %q", c.cfg.Model, OutputScores)
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.URL+path, nil)
	if err != nil {
		return err
	}
	for k, val := range c.cfg.Headers {
		req.Header.Set(k, val)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}
