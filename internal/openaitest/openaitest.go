// Package openaitest writes OpenAI chat-completion answers, as JSON or as a
// server-sent event stream, for the local stand-ins that tests put where a
// real model server would be. The official openai-go SDK reads both.
package openaitest

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// WriteChat answers one chat completion with reply. Streamed, the reply
// goes out a word per chunk, flushed, then a stop chunk and [DONE].
func WriteChat(w http.ResponseWriter, model, reply string, stream bool) {
	WriteChatChunks(w, model, reply, stream, 0)
}

// WriteChatChunks is WriteChat with the streamed reply cut into chunks of
// size bytes (0: a word per chunk), as servers that batch tokens send it.
func WriteChatChunks(w http.ResponseWriter, model, reply string, stream bool, size int) {
	if !stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`, model, reply)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	parts := strings.SplitAfter(reply, " ")
	if size > 0 {
		parts = parts[:0]
		for rest := reply; rest != ""; {
			n := min(size, len(rest))
			for n < len(rest) && !utf8.RuneStart(rest[n]) {
				n++
			}
			parts = append(parts, rest[:n])
			rest = rest[n:]
		}
	}
	for i, part := range parts {
		role := ""
		if i == 0 {
			role = `"role":"assistant",`
		}
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{%s\"content\":%q},\"finish_reason\":null}]}\n\n", model, role, part)
		w.(http.Flusher).Flush()
	}
	fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", model)
}
