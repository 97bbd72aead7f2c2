// Package mapping reads messages of a topic's own schema into Sieve's
// message: each field of the envelope is taken from a gjson path of the
// record's JSON value, a record header, or a constant, as a stream tool's
// mapping does, so that no translator service stands in front of Sieve.
package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/sieve-stream/sieve/contract"
)

// Config maps one schema onto the message. Each field is a source: a gjson
// path into the value (comment.body, attachments.#.url), header:NAME for a
// record header, or a quoted constant ('comments').
type Config struct {
	ID string `yaml:"id"` // default: the record key, else topic/partition/offset
	// Text is one source, or several: the last is the text, the ones
	// before it are joined, line by line, as its title (a post's title and
	// body).
	Text    Sources `yaml:"text"`
	Author  string  `yaml:"author"`
	Tenant  string  `yaml:"tenant"`
	Channel string  `yaml:"channel"`
	Lang    string  `yaml:"lang"`
	TS      string  `yaml:"ts"`
	// Media is a source of image URLs: a path to one string or to an array
	// of them (attachments.#.url).
	Media string `yaml:"media"`
	// Required names the fields (id, author, tenant, channel, lang, ts)
	// a record must have; text, or media when text is empty, always is.
	// A record without one is a dead letter, mapping_failed, naming the
	// path.
	Required []string `yaml:"required"`
}

// Sources is one source or a list of them.
type Sources []string

// UnmarshalYAML takes a string or a list.
func (s *Sources) UnmarshalYAML(unmarshal func(any) error) error {
	var one string
	if err := unmarshal(&one); err == nil {
		*s = Sources{one}
		return nil
	}
	var many []string
	if err := unmarshal(&many); err != nil {
		return errors.New("want a source or a list of sources")
	}
	*s = many
	return nil
}

// Set reports whether the mapping maps anything.
func (c *Config) Set() bool {
	return c != nil && (c.ID != "" || len(c.Text) > 0 || c.Author != "" || c.Tenant != "" || c.Channel != "" || c.Lang != "" || c.TS != "" || c.Media != "")
}

var fieldNames = []string{"id", "author", "tenant", "channel", "lang", "ts"}

// Validate names the first bad field under prefix (input.mapping).
func (c *Config) Validate(prefix string) error {
	if len(c.Text) == 0 && c.Media == "" {
		return fmt.Errorf("%s.text: required (or media): the message needs something to classify", prefix)
	}
	for _, f := range c.fields() {
		if f.src == "" {
			continue
		}
		if _, err := compile(f.src); err != nil {
			return fmt.Errorf("%s.%s: %w", prefix, f.name, err)
		}
	}
	for i, r := range c.Required {
		if !slices.Contains(fieldNames, r) {
			return fmt.Errorf("%s.required[%d]: %q is not %s", prefix, i, r, strings.Join(fieldNames, ", "))
		}
		if c.source(r) == "" {
			return fmt.Errorf("%s.required[%d]: %s is required but not mapped", prefix, i, r)
		}
	}
	return nil
}

type field struct{ name, src string }

func (c *Config) fields() []field {
	fs := []field{{"id", c.ID}, {"author", c.Author}, {"tenant", c.Tenant}, {"channel", c.Channel}, {"lang", c.Lang}, {"ts", c.TS}, {"media", c.Media}}
	for i, t := range c.Text {
		fs = append(fs, field{fmt.Sprintf("text[%d]", i), t})
	}
	return fs
}

func (c *Config) source(name string) string {
	for _, f := range c.fields() {
		if f.name == name {
			return f.src
		}
	}
	return ""
}

// source is a compiled source.
type source struct {
	raw    string
	path   string // gjson path
	header string // header name
	konst  *string
}

func compile(s string) (source, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return source{}, errors.New("empty source")
	case strings.HasPrefix(s, "header:"):
		h := strings.TrimPrefix(s, "header:")
		if h == "" {
			return source{}, errors.New("header: needs a header name")
		}
		return source{raw: s, header: h}, nil
	case len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0]:
		k := s[1 : len(s)-1]
		return source{raw: s, konst: &k}, nil
	default:
		if strings.ContainsAny(s, "\n\r") {
			return source{}, fmt.Errorf("%q is not a gjson path", s)
		}
		return source{raw: s, path: s}, nil
	}
}

// Mapping is a compiled Config.
type Mapping struct {
	id, author, tenant, channel, lang, ts, media *source
	text                                         []source
	required                                     map[string]bool
}

// New compiles c; c must have passed Validate.
func New(c Config) (*Mapping, error) {
	if err := c.Validate("mapping"); err != nil {
		return nil, err
	}
	m := &Mapping{required: map[string]bool{}}
	one := func(s string) *source {
		if s == "" {
			return nil
		}
		src, _ := compile(s)
		return &src
	}
	m.id, m.author, m.tenant, m.channel, m.lang, m.ts, m.media = one(c.ID), one(c.Author), one(c.Tenant), one(c.Channel), one(c.Lang), one(c.TS), one(c.Media)
	for _, t := range c.Text {
		src, _ := compile(t)
		m.text = append(m.text, src)
	}
	for _, r := range c.Required {
		m.required[r] = true
	}
	return m, nil
}

// Header reads a record header by name; nil when there are none.
type Header func(name string) (string, bool)

// failed is a mapping_failed dead letter naming the source.
func failed(format string, args ...any) error {
	return &contract.DecodeError{Code: contract.ReasonMappingFailed, Detail: fmt.Sprintf(format, args...)}
}

// get reads a source: its string value and whether it was there.
func (s *source) get(v []byte, h Header) (string, bool) {
	switch {
	case s.konst != nil:
		return *s.konst, true
	case s.header != "":
		if h == nil {
			return "", false
		}
		return h(s.header)
	}
	r := gjson.GetBytes(v, s.path)
	if !r.Exists() || r.Type == gjson.Null {
		return "", false
	}
	if r.Type == gjson.String {
		return r.Str, true
	}
	if r.IsArray() || r.IsObject() {
		return r.Raw, true
	}
	return r.Raw, true // numbers and booleans as written
}

// Decode reads value (a JSON object) into m through the mapping, bounded
// as contract.DecodeMessageInto bounds the envelope. Errors are
// *contract.DecodeError: invalid_json, invalid_utf8, too_large, empty, or
// mapping_failed naming the path that is missing.
func (mp *Mapping) Decode(value []byte, h Header, opts contract.DecodeOptions, m *contract.Message) error {
	if opts.MaxRecordBytes > 0 && len(value) > opts.MaxRecordBytes {
		return &contract.DecodeError{Code: contract.ReasonTooLarge, Detail: fmt.Sprintf("record is %d bytes, over the limit of %d", len(value), opts.MaxRecordBytes)}
	}
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(value, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 {
		return &contract.DecodeError{Code: contract.ReasonEmpty, Detail: "value is empty"}
	}
	if !utf8.Valid(trimmed) {
		return &contract.DecodeError{Code: contract.ReasonInvalidUTF8, Detail: "value is not valid UTF-8"}
	}
	if trimmed[0] != '{' || !gjson.ValidBytes(trimmed) {
		return &contract.DecodeError{Code: contract.ReasonInvalidJSON, Detail: "value is not a JSON object (the topic's input.mapping reads JSON)"}
	}
	*m = contract.Message{}
	for _, f := range []struct {
		name string
		src  *source
		dst  *string
	}{{"id", mp.id, &m.ID}, {"author", mp.author, &m.Author}, {"tenant", mp.tenant, &m.Tenant}, {"channel", mp.channel, &m.Channel}, {"lang", mp.lang, &m.Lang}, {"ts", mp.ts, &m.TS}} {
		if f.src == nil {
			continue
		}
		v, ok := f.src.get(trimmed, h)
		if !ok && mp.required[f.name] {
			return failed("%s: %s is missing", f.name, f.src.raw)
		}
		*f.dst = v
	}
	var parts []string
	for i := range mp.text {
		v, ok := mp.text[i].get(trimmed, h)
		if ok && strings.TrimSpace(v) != "" {
			parts = append(parts, v)
		} else if i == len(mp.text)-1 {
			parts = append(parts, "") // the text itself may be empty when media are there
		}
	}
	if len(parts) > 0 {
		m.Text = parts[len(parts)-1]
		m.Title = strings.Join(parts[:len(parts)-1], "\n")
	}
	if mp.media != nil {
		for _, u := range mediaResult(trimmed, mp.media, h) {
			m.Media = append(m.Media, contract.Media{URL: u})
		}
	}
	if opts.MaxTextBytes > 0 && len(m.Text)+len(m.Title) > opts.MaxTextBytes {
		return &contract.DecodeError{Code: contract.ReasonTooLarge, Detail: fmt.Sprintf("text and title are %d bytes, over max_text_bytes %d", len(m.Text)+len(m.Title), opts.MaxTextBytes)}
	}
	if strings.TrimSpace(m.Text) == "" && m.Title == "" && len(m.Media) == 0 {
		var paths []string
		for _, t := range mp.text {
			paths = append(paths, t.raw)
		}
		if mp.media != nil {
			paths = append(paths, mp.media.raw)
		}
		return failed("text: %s gave no text (and no media)", strings.Join(paths, ", "))
	}
	return nil
}

// mediaResult reads media URLs: a string, or an array of strings.
func mediaResult(v []byte, s *source, h Header) []string {
	if s.path == "" {
		if u, ok := s.get(v, h); ok && u != "" {
			return []string{u}
		}
		return nil
	}
	r := gjson.GetBytes(v, s.path)
	var out []string
	if r.IsArray() {
		for _, x := range r.Array() {
			if x.Type == gjson.String && x.Str != "" {
				out = append(out, x.Str)
			}
		}
		return out
	}
	if r.Type == gjson.String && r.Str != "" {
		return []string{r.Str}
	}
	return nil
}
