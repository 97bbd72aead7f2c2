package generator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/sieve-stream/sieve/internal/openaitest"
	"github.com/sieve-stream/sieve/pipeline"
)

// standIn speaks the chat-completions protocol (JSON and server-sent
// events); it "rewrites" by dropping the words it was told are rude.
func standIn(t *testing.T, status *atomic.Int32) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := status.Load(); s != 0 {
			http.Error(w, `{"error":{"message":"overloaded"}}`, int(s))
			return
		}
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer test-key" {
			http.Error(w, "bad path or key", http.StatusUnauthorized)
			return
		}
		var req struct {
			Model    string `json:"model"`
			Stream   bool   `json:"stream"`
			Messages []struct{ Role, Content string }
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) < 2 {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		user := req.Messages[len(req.Messages)-1].Content
		user, _, _ = strings.Cut(user, "\n\n(")
		words := strings.Fields(user)
		var kept []string
		for _, w := range words {
			if w != "fucking" && w != "stupid" {
				kept = append(kept, w)
			}
		}
		answer := strings.Join(kept, " ")
		openaitest.WriteChat(w, req.Model, answer, req.Stream)
	}))
}

// The stand-in speaks the real wire format: the official OpenAI Go SDK
// reads both its answers.
func TestStandInSpeaksTheOpenAIProtocol(t *testing.T) {
	var status atomic.Int32
	srv := standIn(t, &status)
	defer srv.Close()
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("test-key"), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: "detox", Messages: []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage(DefaultPrompt), openai.UserMessage("this stupid update")}}
	cc, err := client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if cc.Choices[0].Message.Content != "this update" {
		t.Fatalf("SDK read %q", cc.Choices[0].Message.Content)
	}
	stream := client.Chat.Completions.NewStreaming(context.Background(), params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "this update" {
		t.Fatalf("SDK stream read %q", got)
	}
}

func TestOpenAIRewriter(t *testing.T) {
	var status atomic.Int32
	srv := standIn(t, &status)
	defer srv.Close()
	for _, stream := range []bool{false, true} {
		o, err := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", APIKey: "test-key", Model: "detox", Stream: stream})
		if err != nil {
			t.Fatal(err)
		}
		out, err := o.Rewrite(context.Background(), []string{"this fucking update", "a stupid idea, honestly"}, []string{"", "still rude"})
		if err != nil {
			t.Fatal(err)
		}
		if out[0] != "this update" || out[1] != "a idea, honestly" {
			t.Fatalf("stream %v: %q", stream, out)
		}
	}
	o, _ := NewOpenAI(OpenAIConfig{BaseURL: srv.URL + "/v1", APIKey: "test-key", Model: "detox"})
	status.Store(http.StatusServiceUnavailable)
	if _, err := o.Rewrite(context.Background(), []string{"x"}, nil); !pipeline.IsTransient(err) {
		t.Fatalf("503 must be transient: %v", err)
	}
	status.Store(http.StatusBadRequest)
	if _, err := o.Rewrite(context.Background(), []string{"x"}, nil); err == nil || pipeline.IsTransient(err) {
		t.Fatalf("400 must be permanent: %v", err)
	}
}
