package proxy

// PostChat lets the external tests (package proxy_test) send chat
// completions the way the internal ones do.
var PostChat = postChat
