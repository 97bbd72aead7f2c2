package generator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sieve-stream/sieve/pipeline"
)

// OpenAIConfig points the chat rewriter at any OpenAI-compatible server:
// vLLM, llama.cpp's server, Ollama, TGI or OpenAI itself.
type OpenAIConfig struct {
	// BaseURL is the API root, as in http://localhost:8000/v1.
	BaseURL string `yaml:"base_url"`
	APIKey  string `yaml:"api_key"` // sent as a bearer token
	Model   string `yaml:"model"`   // the model name the server knows
	// Prompt is the system prompt of the rewrite style.
	Prompt      string        `yaml:"prompt"`
	Temperature float64       `yaml:"temperature"` // sampling temperature
	MaxTokens   int           `yaml:"max_tokens"`  // longest rewrite
	Timeout     time.Duration `yaml:"timeout"`     // per request; default 30s
	Stream      bool          `yaml:"stream"`      // read the answer as server-sent events
	Concurrency int           `yaml:"concurrency"` // requests at once; default 4
}

// DefaultPrompt is the detoxification style.
const DefaultPrompt = "Rewrite the user's message so that it is polite and free of insults, slurs and profanity, " +
	"keeping its meaning, facts, names and language. Do not add anything. Answer with the rewritten message only."

// OpenAI is a Rewriter over the chat-completions API.
type OpenAI struct {
	cfg  OpenAIConfig
	http *http.Client
}

// NewOpenAI returns the client.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	if cfg.BaseURL == "" || cfg.Model == "" {
		return nil, errors.New("openai rewriter: base_url and model are required")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Prompt == "" {
		cfg.Prompt = DefaultPrompt
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	return &OpenAI{cfg: cfg, http: &http.Client{}}, nil
}

// Name implements Rewriter.
func (o *OpenAI) Name() string { return "openai:" + o.cfg.Model }

// Rewrite implements Rewriter: one chat request per text, a few at once
// (chat completions have no batch form).
func (o *OpenAI) Rewrite(ctx context.Context, texts []string, feedback []string) ([]string, error) {
	out := make([]string, len(texts))
	errs := make([]error, len(texts))
	sem := make(chan struct{}, o.cfg.Concurrency)
	var wg sync.WaitGroup
	for i, t := range texts {
		fb := ""
		if feedback != nil {
			fb = feedback[i]
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = o.complete(ctx, t, fb)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model       string        `json:"model"`
	Messages    []chatMessage `json:"messages"`
	Temperature float64       `json:"temperature"`
	MaxTokens   int           `json:"max_tokens,omitempty"`
	Stream      bool          `json:"stream,omitempty"`
}

func (o *OpenAI) complete(ctx context.Context, text, feedback string) (string, error) {
	user := text
	if feedback != "" {
		user = text + "\n\n(Your previous rewrite was rejected: " + feedback + ". Try again.)"
	}
	body, _ := json.Marshal(chatRequest{Model: o.cfg.Model, Temperature: o.cfg.Temperature, MaxTokens: o.cfg.MaxTokens, Stream: o.cfg.Stream,
		Messages: []chatMessage{{Role: "system", Content: o.cfg.Prompt}, {Role: "user", Content: user}}})
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.cfg.BaseURL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if o.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.cfg.APIKey)
	}
	resp, err := o.http.Do(req)
	if err != nil {
		return "", pipeline.Transient(fmt.Errorf("chat completion: %w", err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		err := fmt.Errorf("chat completion: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return "", pipeline.Transient(err)
		}
		return "", err
	}
	if o.cfg.Stream {
		return readStream(resp.Body)
	}
	var cc struct {
		Choices []struct {
			Message chatMessage `json:"message"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&cc); err != nil {
		return "", fmt.Errorf("chat completion: %w", err)
	}
	if len(cc.Choices) == 0 {
		return "", errors.New("chat completion: no choices")
	}
	return strings.TrimSpace(cc.Choices[0].Message.Content), nil
}

// readStream joins the content deltas of a server-sent-events answer.
func readStream(r io.Reader) (string, error) {
	var b strings.Builder
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			return strings.TrimSpace(b.String()), nil
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			return "", fmt.Errorf("chat completion stream: %w", err)
		}
		for _, c := range chunk.Choices {
			b.WriteString(c.Delta.Content)
		}
	}
	if err := sc.Err(); err != nil {
		return "", pipeline.Transient(fmt.Errorf("chat completion stream: %w", err))
	}
	return "", pipeline.Transient(errors.New("chat completion stream ended without [DONE]"))
}
