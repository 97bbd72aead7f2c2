// Package openaitest writes OpenAI chat-completion answers, as JSON or as a
// server-sent event stream, for the local stand-ins that tests put where a
// real model server would be. The official openai-go SDK reads both.
package openaitest

import (
	"fmt"
	"net/http"
	"strings"
)

// WriteChat answers one chat completion with reply. Streamed, the reply
// goes out a word per chunk, flushed, then a stop chunk and [DONE].
func WriteChat(w http.ResponseWriter, model, reply string, stream bool) {
	if !stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`, model, reply)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for i, part := range strings.SplitAfter(reply, " ") {
		role := ""
		if i == 0 {
			role = `"role":"assistant",`
		}
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{%s\"content\":%q},\"finish_reason\":null}]}\n\n", model, role, part)
		w.(http.Flusher).Flush()
	}
	fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", model)
}
