// Package contract is Sieve's outside contract in code (docs/contract.md):
// the input message and its decoder, the verdict and its encoder, findings,
// and the typed decisions and dead-letter reasons with their one severity
// order. It imports nothing of Sieve's: every other package speaks it.
package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Reason is why a message became a dead letter (contract: header
// sieve-error).
type Reason string

// Reason codes of the contract's dead letters.
const (
	ReasonInvalidJSON        Reason = "invalid_json"
	ReasonInvalidUTF8        Reason = "invalid_utf8"
	ReasonTooLarge           Reason = "too_large"
	ReasonEmpty              Reason = "empty"
	ReasonUnsupportedVersion Reason = "unsupported_version"
	ReasonStageFailed        Reason = "stage_failed"
	// ReasonProduceFailed: the verdict could not be written, so the
	// message went to the dead-letter topic instead.
	ReasonProduceFailed Reason = "produce_failed"
	// ReasonMappingFailed: the topic's input.mapping found no value at a
	// path the message needs (the detail names it).
	ReasonMappingFailed Reason = "mapping_failed"
	// ReasonSchemaUnknown: a schema-registry framed value whose schema id
	// the registry does not know (or could not be asked about), or of a
	// format this build does not read.
	ReasonSchemaUnknown Reason = "schema_unknown"
)

// Reasons are the contract's dead-letter reasons.
var Reasons = []Reason{ReasonInvalidJSON, ReasonInvalidUTF8, ReasonTooLarge, ReasonEmpty, ReasonUnsupportedVersion, ReasonStageFailed, ReasonProduceFailed, ReasonMappingFailed, ReasonSchemaUnknown}

// MessageVersion is the version of the input and verdict formats this build
// reads and writes.
const MessageVersion = 1

// Media is one attachment: either a URL or inline base64 data.
type Media struct {
	URL  string `json:"url,omitempty"`
	Data string `json:"data,omitempty"`
	MIME string `json:"mime,omitempty"`
}

// Turn is one earlier turn of a conversation, given as context.
type Turn struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Message is a decoded input message (contract: "Input message").
type Message struct {
	V    int    `json:"v,omitempty"`
	ID   string `json:"id,omitempty"`
	Text string `json:"text,omitempty"`
	// Title is a review's or post's title, optional; stages read it as
	// the first line of the text (see JoinTitle).
	Title   string          `json:"title,omitempty"`
	Author  string          `json:"author,omitempty"`
	Tenant  string          `json:"tenant,omitempty"`
	Channel string          `json:"channel,omitempty"`
	Lang    string          `json:"lang,omitempty"`
	Media   []Media         `json:"media,omitempty"`
	Context []Turn          `json:"context,omitempty"`
	TS      string          `json:"ts,omitempty"`
	Meta    json.RawMessage `json:"meta,omitempty"`
	// Extra holds fields this version does not know, untouched, so that the
	// verdict can carry them when the config asks (decode.keep_unknown).
	Extra map[string]json.RawMessage `json:"-"`
}

// JoinTitle is the text stages classify for a titled message: the title on
// its own line, then the text. Training data with a "title" field is read
// the same way (datasets), so models see at serving time what they learnt
// from.
func JoinTitle(title, text string) string {
	if title == "" {
		return text
	}
	if text == "" {
		return title
	}
	return title + "\n" + text
}

// DecodeError is why a record cannot become a Message. Code is one of the
// Reason constants and becomes the dead letter's sieve-error header.
type DecodeError struct {
	Code   Reason
	Detail string
}

func (e *DecodeError) Error() string { return string(e.Code) + ": " + e.Detail }

// DecodeOptions bound what a record may hold.
type DecodeOptions struct {
	// MaxTextBytes bounds the text field (or the whole value taken as text).
	MaxTextBytes int
	// MaxRecordBytes bounds the whole record value, media included.
	MaxRecordBytes int
	// KeepUnknown keeps unknown top-level fields in Message.Extra.
	KeepUnknown bool
}

// DefaultDecodeOptions are the contract's defaults.
var DefaultDecodeOptions = DecodeOptions{MaxTextBytes: 64 << 10, MaxRecordBytes: 8 << 20}

// DecodeMessage turns a record value into a Message. The value is never
// modified and the returned Message does not alias it. A value that is valid
// UTF-8 but not a JSON object is taken as {"text": value}.
func DecodeMessage(value []byte, opts DecodeOptions) (*Message, error) {
	var m Message
	if err := DecodeMessageInto(value, opts, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// decodeMessageInto is DecodeMessage into a Message the caller owns (the
// engine's items embed theirs, saving an allocation per record).
func DecodeMessageInto(value []byte, opts DecodeOptions, m *Message) error {
	if opts.MaxRecordBytes > 0 && len(value) > opts.MaxRecordBytes {
		return &DecodeError{ReasonTooLarge, fmt.Sprintf("record is %d bytes, over the limit of %d", len(value), opts.MaxRecordBytes)}
	}
	// A UTF-8 byte order mark, which some editors and Windows tools write,
	// says nothing; without this a JSON line behind one read as plain text.
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(value, utf8BOM))
	if len(trimmed) == 0 {
		return &DecodeError{ReasonEmpty, "value is empty"}
	}
	if trimmed[0] != '{' {
		if !utf8.Valid(value) {
			return invalidUTF8(value)
		}
		m.Text = string(trimmed)
	} else if err := decodeObject(trimmed, m, opts.KeepUnknown); err != nil {
		// The decoder checks UTF-8 inside strings, where JSON allows
		// non-ASCII; a bad byte anywhere else is a syntax error, but the
		// reason a producer needs to hear is still the encoding.
		if errors.Is(err, errInvalidUTF8) || !utf8.Valid(value) {
			return invalidUTF8(value)
		}
		return &DecodeError{ReasonInvalidJSON, err.Error()}
	}
	if m.V > MessageVersion {
		return &DecodeError{ReasonUnsupportedVersion, fmt.Sprintf("message version v=%d is newer than this build's %d", m.V, MessageVersion)}
	}
	if opts.MaxTextBytes > 0 && len(m.Text)+len(m.Title) > opts.MaxTextBytes {
		return &DecodeError{ReasonTooLarge, fmt.Sprintf("text and title are %d bytes, over max_text_bytes %d", len(m.Text)+len(m.Title), opts.MaxTextBytes)}
	}
	if strings.TrimSpace(m.Text) == "" && len(m.Media) == 0 {
		return &DecodeError{ReasonEmpty, "message has neither text nor media"}
	}
	for i, md := range m.Media {
		if md.URL == "" && md.Data == "" {
			return &DecodeError{ReasonInvalidJSON, "media[" + strconv.Itoa(i) + "] has neither url nor data"}
		}
	}
	return nil
}

var utf8BOM = []byte("\xef\xbb\xbf")

func decodeObject(data []byte, m *Message, keepUnknown bool) error {
	return decodeFast(data, m, keepUnknown)
}

func invalidUTF8(value []byte) error {
	return &DecodeError{ReasonInvalidUTF8, fmt.Sprintf("value is not valid UTF-8 (first bad byte at offset %d)", firstInvalidUTF8(value))}
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}
