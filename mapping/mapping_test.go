package mapping

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sieve-stream/sieve/contract"
)

const commentMapping = `
id: comment.id
text: [comment.title, comment.body]
author: user.id
tenant: header:x-tenant
channel: "'comments'"
media: attachments.#.url
ts: comment.created_at
required: [id, author]
`

func mustMapping(t *testing.T, y string) *Mapping {
	t.Helper()
	var c Config
	if err := yaml.Unmarshal([]byte(y), &c); err != nil {
		t.Fatal(err)
	}
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDecode(t *testing.T) {
	m := mustMapping(t, commentMapping)
	headers := func(name string) (string, bool) {
		if name == "x-tenant" {
			return "acme", true
		}
		return "", false
	}
	tests := []struct {
		name  string
		value string
		want  contract.Message
		err   contract.Reason
		in    string // a word the error's detail must have
	}{
		{"full", `{"comment":{"id":7,"title":"Hi","body":"win a free phone","created_at":"2026-11-29T10:00:00Z"},"user":{"id":"u-1"},"attachments":[{"url":"https://cdn.example/a.png"},{"url":"https://cdn.example/b.jpg"}]}`,
			contract.Message{ID: "7", Title: "Hi", Text: "win a free phone", Author: "u-1", Tenant: "acme", Channel: "comments", TS: "2026-11-29T10:00:00Z",
				Media: []contract.Media{{URL: "https://cdn.example/a.png"}, {URL: "https://cdn.example/b.jpg"}}}, "", ""},
		{"no title", `{"comment":{"id":"c-2","body":"hello"},"user":{"id":"u-2"}}`,
			contract.Message{ID: "c-2", Text: "hello", Author: "u-2", Tenant: "acme", Channel: "comments"}, "", ""},
		{"media only", `{"comment":{"id":3},"user":{"id":"u"},"attachments":[{"url":"https://x/y.png"}]}`,
			contract.Message{ID: "3", Author: "u", Tenant: "acme", Channel: "comments", Media: []contract.Media{{URL: "https://x/y.png"}}}, "", ""},
		{"missing author", `{"comment":{"id":4,"body":"hi"}}`, contract.Message{}, contract.ReasonMappingFailed, "user.id"},
		{"no text", `{"comment":{"id":5},"user":{"id":"u"}}`, contract.Message{}, contract.ReasonMappingFailed, "comment.body"},
		{"not an object", `"just a string"`, contract.Message{}, contract.ReasonInvalidJSON, ""},
		{"broken json", `{"comment":`, contract.Message{}, contract.ReasonInvalidJSON, ""},
		{"bad utf-8", "{\"comment\":{\"body\":\"\xff\"}}", contract.Message{}, contract.ReasonInvalidUTF8, ""},
		{"empty", `  `, contract.Message{}, contract.ReasonEmpty, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got contract.Message
			err := m.Decode([]byte(tt.value), headers, contract.DefaultDecodeOptions, &got)
			if tt.err != "" {
				var de *contract.DecodeError
				if !errors.As(err, &de) || de.Code != tt.err || !strings.Contains(de.Detail, tt.in) {
					t.Fatalf("err %v, want %s naming %q", err, tt.err, tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"author: user.id", "input.mapping.text: required"},
		{"text: body\nrequired: [author]", "input.mapping.required[0]: author is required but not mapped"},
		{"text: body\nrequired: [nickname]", `input.mapping.required[0]: "nickname" is not id, author`},
		{"text: 'header:'", "input.mapping.text[0]: header: needs a header name"},
	}
	for _, tt := range tests {
		var c Config
		if err := yaml.Unmarshal([]byte(tt.yaml), &c); err != nil {
			t.Fatal(err)
		}
		if err := c.Validate("input.mapping"); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err %v, want %q", tt.yaml, err, tt.want)
		}
	}
}

// Without a mapping for the topic, the decoder reads the envelope exactly
// as contract.DecodeMessageInto does.
func TestDecoderEnvelopeUntouched(t *testing.T) {
	d, err := NewDecoder(Input{Topics: map[string]Topic{"comments": {Mapping: Config{Text: Sources{"body"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{`{"id":"m","text":"hi","author":"a"}`, `plain text`, `{"text":`, ``} {
		var a, b contract.Message
		ea := d.Decode("posts", []byte(v), nil, contract.DefaultDecodeOptions, &a)
		eb := contract.DecodeMessageInto([]byte(v), contract.DefaultDecodeOptions, &b)
		if !reflect.DeepEqual(a, b) || (ea == nil) != (eb == nil) {
			t.Errorf("%q: mapped decoder %+v %v, envelope %+v %v", v, a, ea, b, eb)
		}
	}
	var m contract.Message
	if err := d.Decode("comments", []byte(`{"body":"from the comments topic"}`), nil, contract.DefaultDecodeOptions, &m); err != nil || m.Text != "from the comments topic" {
		t.Errorf("mapped topic: %+v %v", m, err)
	}
	if d, err := NewDecoder(Input{}); d != nil || err != nil {
		t.Errorf("no mapping: %v %v, want the envelope path (nil)", d, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"comment":{"id":7,"title":"Hi","body":"win"},"user":{"id":"u"},"attachments":[{"url":"x"}]}`))
	f.Add([]byte(`{"comment":{"body":[1,2,{"a":null}]}}`))
	f.Add([]byte("\xef\xbb\xbf{}"))
	var c Config
	yaml.Unmarshal([]byte(commentMapping), &c)
	m, err := New(c)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		var msg contract.Message
		err := m.Decode(v, nil, contract.DefaultDecodeOptions, &msg)
		if err != nil {
			var de *contract.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("a %T, not a DecodeError: %v", err, err)
			}
			return
		}
		if strings.TrimSpace(msg.Text) == "" && msg.Title == "" && len(msg.Media) == 0 {
			t.Fatalf("an empty message decoded: %q", v)
		}
	})
}

// BenchmarkDecode compares a mapped record's decoding with the envelope's
// for the same message.
func BenchmarkDecode(b *testing.B) {
	var c Config
	yaml.Unmarshal([]byte(commentMapping), &c)
	m, _ := New(c)
	mapped := []byte(`{"comment":{"id":7,"title":"Hi there","body":"win a free phone now, click the link in my profile to claim it","created_at":"2026-11-29T10:00:00Z"},"user":{"id":"u-1"},"attachments":[]}`)
	env := []byte(`{"id":"7","title":"Hi there","text":"win a free phone now, click the link in my profile to claim it","author":"u-1","tenant":"acme","channel":"comments","ts":"2026-11-29T10:00:00Z"}`)
	h := func(string) (string, bool) { return "acme", true }
	b.Run("envelope", func(b *testing.B) {
		var msg contract.Message
		for b.Loop() {
			contract.DecodeMessageInto(env, contract.DefaultDecodeOptions, &msg)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("mapped", func(b *testing.B) {
		var msg contract.Message
		for b.Loop() {
			if err := m.Decode(mapped, h, contract.DefaultDecodeOptions, &msg); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}
