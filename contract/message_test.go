package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeMessage(t *testing.T) {
	opts := DecodeOptions{MaxTextBytes: 64, MaxRecordBytes: 512}
	tests := []struct {
		name  string
		value string
		code  Reason // "" means valid
		want  Message
	}{
		{"contract example", `{"v": 1, "id": "m-1", "text": "win a free phone", "author": "u-42", "tenant": "acme",
			"channel": "comments", "lang": "en", "media": [{"url": "https://cdn.example/a.png"}, {"data": "aGk=", "mime": "image/jpeg"}],
			"context": [{"role": "user", "content": "earlier turn"}], "ts": "2026-11-27T10:00:00Z", "meta": {"any": "thing"}}`, "",
			Message{V: 1, ID: "m-1", Text: "win a free phone", Author: "u-42", Tenant: "acme", Channel: "comments", Lang: "en",
				Media:   []Media{{URL: "https://cdn.example/a.png"}, {Data: "aGk=", MIME: "image/jpeg"}},
				Context: []Turn{{Role: "user", Content: "earlier turn"}}, TS: "2026-11-27T10:00:00Z", Meta: json.RawMessage(`{"any": "thing"}`)}},
		{"plain text value", `hello there`, "", Message{Text: "hello there"}},
		{"review with a title", `{"title":"Runs small","text":"order a size up"}`, "", Message{Title: "Runs small", Text: "order a size up"}},
		{"title counts towards the text bound", `{"title":"` + strings.Repeat("t", 40) + `","text":"` + strings.Repeat("x", 30) + `"}`, ReasonTooLarge, Message{}},
		{"json array is text", `[1,2]`, "", Message{Text: "[1,2]"}},
		{"media only", `{"media":[{"url":"https://x/y.png"}]}`, "", Message{Media: []Media{{URL: "https://x/y.png"}}}},
		{"escapes", `{"text":"a\"b\\c\u00e9\ud83d\ude00\n"}`, "", Message{Text: "a\"b\\cé😀\n"}},
		{"lone surrogate becomes U+FFFD", `{"text":"x\ud800y"}`, "", Message{Text: "x\ufffdy"}},
		{"unknown fields ignored", `{"text":"hi","extra":{"deep":[1,true,null]}}`, "", Message{Text: "hi"}},
		{"null fields", `{"text":"hi","id":null,"media":null}`, "", Message{Text: "hi"}},
		{"a field twice", `{"text":"a","text":"b"}`, ReasonInvalidJSON, Message{}},
		{"unterminated", `{"text":"oops`, ReasonInvalidJSON, Message{}},
		{"trailing garbage", `{"text":"a"} x`, ReasonInvalidJSON, Message{}},
		{"text not a string", `{"text":5}`, ReasonInvalidJSON, Message{}},
		{"v not an int", `{"text":"a","v":1.5}`, ReasonInvalidJSON, Message{}},
		{"newer version", `{"text":"a","v":2}`, ReasonUnsupportedVersion, Message{}},
		{"invalid utf-8", "{\"text\":\"\xff\"}", ReasonInvalidUTF8, Message{}},
		{"empty value", ``, ReasonEmpty, Message{}},
		{"blank text", `{"text":"   "}`, ReasonEmpty, Message{}},
		{"neither text nor media", `{"id":"x"}`, ReasonEmpty, Message{}},
		{"media without url or data", `{"media":[{}]}`, ReasonInvalidJSON, Message{}},
		{"text too long", `{"text":"` + strings.Repeat("a", 65) + `"}`, ReasonTooLarge, Message{}},
		{"record too large", strings.Repeat(" ", 600) + `{"text":"a"}`, ReasonTooLarge, Message{}},
		{"control char in string", "{\"text\":\"a\x01\"}", ReasonInvalidJSON, Message{}},
		{"bad escape", `{"text":"\q"}`, ReasonInvalidJSON, Message{}},
		{"leading zero", `{"text":"a","v":01}`, ReasonInvalidJSON, Message{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeMessage([]byte(tt.value), opts)
			if tt.code != "" {
				var de *DecodeError
				if !errors.As(err, &de) || de.Code != tt.code {
					t.Fatalf("got %v, want code %s", err, tt.code)
				}
				if de.Detail == "" {
					t.Fatal("dead letters need a human detail")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*m, tt.want) {
				t.Fatalf("got %+v\nwant %+v", *m, tt.want)
			}
		})
	}
}

func TestDecodeKeepsUnknown(t *testing.T) {
	m, err := DecodeMessage([]byte(`{"text":"a","shard":7,"tags":["x"]}`), DecodeOptions{KeepUnknown: true})
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Extra["shard"]) != "7" || string(m.Extra["tags"]) != `["x"]` {
		t.Fatalf("extra = %v", m.Extra)
	}
}

// FuzzDecodeMessage checks the decoder against encoding/json: it never
// panics, accepts only valid JSON, accepts every valid message object, and
// decodes the same fields.
func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{`{"text":"hi"}`, `{"v":1,"id":"a","text":"x\u00e9","media":[{"url":"u"}],"context":[{"role":"r","content":"c"}],"meta":{"k":[1,2]}}`,
		`plain`, `{"text":"a\ud800"}`, `{"text":1}`, `{"media":[null]}`, `{"a":{"b":[{"c":-1.5e+3}]},"text":"t"}`, `{"text":"a","v":-0}`, ``, `{`} {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"text":"a","text":"b"}`))
	f.Add([]byte("\xef\xbb\xbf{\"text\":\"bom\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMessage(data, DecodeOptions{KeepUnknown: true})
		data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM is skipped
		if !utf8.Valid(data) && len(bytes.TrimSpace(data)) > 0 {
			var de *DecodeError
			if !errors.As(err, &de) || de.Code != ReasonInvalidUTF8 {
				t.Fatalf("invalid UTF-8 %q gave %v", data, err)
			}
			return
		}
		trimmed := bytes.TrimSpace(data)
		if len(trimmed) == 0 || trimmed[0] != '{' {
			return
		}
		var de *DecodeError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		valid := json.Valid(data)
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if !valid {
			return
		}
		// Compare with a case-sensitive reading through encoding/json.
		var raw map[string]json.RawMessage
		if json.Unmarshal(data, &raw) != nil {
			return
		}
		if dup := duplicateField(data); dup != "" {
			if err == nil || de.Code != ReasonInvalidJSON {
				t.Fatalf("duplicate field %q not refused in %q: %v", dup, data, err)
			}
			return
		}
		var ref Message
		typeOK := true
		for k, v := range raw {
			var dst any
			switch k {
			case "v":
				dst = &ref.V
			case "id":
				dst = &ref.ID
			case "text":
				dst = &ref.Text
			case "author":
				dst = &ref.Author
			case "tenant":
				dst = &ref.Tenant
			case "channel":
				dst = &ref.Channel
			case "lang":
				dst = &ref.Lang
			case "ts":
				dst = &ref.TS
			case "media":
				ms, ok := strictObjects(v, []string{"url", "data", "mime"})
				typeOK = typeOK && ok
				if ms != nil {
					ref.Media = []Media{}
				}
				for _, m := range ms {
					ref.Media = append(ref.Media, Media{URL: m["url"], Data: m["data"], MIME: m["mime"]})
				}
				continue
			case "context":
				ts, ok := strictObjects(v, []string{"role", "content"})
				typeOK = typeOK && ok
				if ts != nil {
					ref.Context = []Turn{}
				}
				for _, m := range ts {
					ref.Context = append(ref.Context, Turn{Role: m["role"], Content: m["content"]})
				}
				continue
			default:
				continue
			}
			if json.Unmarshal(v, dst) != nil {
				typeOK = false
			}
		}
		if !typeOK {
			if err == nil || de.Code != ReasonInvalidJSON {
				t.Fatalf("field type error not reported for %q: %v", data, err)
			}
			return
		}
		if err != nil {
			if de.Code == ReasonInvalidJSON && strings.Contains(de.Detail, "neither url nor data") {
				return
			}
			if de.Code == ReasonEmpty || de.Code == ReasonUnsupportedVersion || de.Code == ReasonTooLarge || de.Code == ReasonInvalidUTF8 {
				return
			}
			t.Fatalf("rejected valid message %q: %v", data, err)
		}
		if m.Text != ref.Text || m.ID != ref.ID || m.V != ref.V || m.Author != ref.Author || m.TS != ref.TS ||
			m.Tenant != ref.Tenant || m.Channel != ref.Channel || m.Lang != ref.Lang {
			t.Fatalf("fields differ for %q:\n got %+v\nwant %+v", data, *m, ref)
		}
		if len(m.Media) != len(ref.Media) || len(m.Context) != len(ref.Context) {
			t.Fatalf("media/context differ for %q", data)
		}
		for i := range m.Media {
			if m.Media[i] != ref.Media[i] {
				t.Fatalf("media[%d] differs for %q: %+v vs %+v", i, data, m.Media[i], ref.Media[i])
			}
		}
		for i := range m.Context {
			if m.Context[i] != ref.Context[i] {
				t.Fatalf("context[%d] differs for %q", i, data)
			}
		}
		for k := range raw {
			if _, known := map[string]bool{"v": true, "id": true, "text": true, "author": true, "tenant": true, "channel": true,
				"lang": true, "ts": true, "media": true, "context": true, "meta": true}[k]; !known && m.Extra[k] == nil {
				t.Fatalf("unknown field %q not kept for %q", k, data)
			}
		}
	})
}

func TestPlain8(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := range 8 {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			var x uint64
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(b[i])
			}
			if got, want := plain8(x), plain[c]; got != want {
				t.Fatalf("byte %#x at %d: plain8 %v, want %v", c, pos, got, want)
			}
		}
	}
}

func BenchmarkDecodeMessage(b *testing.B) {
	v := []byte(`{"v":1,"id":"m-1","text":"the new update is great, thanks for sharing","author":"u-42","channel":"comments","ts":"2026-11-27T10:00:00Z"}`)
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMessage(v, DefaultDecodeOptions); err != nil {
			b.Fatal(err)
		}
	}
}

// strictObjects reads a JSON array of objects (or null) keeping only the
// exactly named string fields, as the contract spells them; encoding/json
// would also match other cases. ok is false on a type mismatch.
func strictObjects(raw json.RawMessage, fields []string) ([]map[string]string, bool) {
	if string(raw) == "null" {
		return nil, true
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil {
		return nil, false
	}
	out := make([]map[string]string, 0, len(elems))
	for _, e := range elems {
		m := map[string]string{}
		if string(e) != "null" {
			var obj map[string]json.RawMessage
			if json.Unmarshal(e, &obj) != nil {
				return nil, false
			}
			for _, f := range fields {
				v, ok := obj[f]
				if !ok || string(v) == "null" {
					continue
				}
				var s string
				if json.Unmarshal(v, &s) != nil {
					return nil, false
				}
				m[f] = s
			}
		}
		out = append(out, m)
	}
	return out, true
}

// duplicateField is a message field that data's top-level object gives
// twice, read with encoding/json's tokenizer.
func duplicateField(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := tok.(string)
		switch k {
		case "v", "id", "text", "title", "author", "tenant", "channel", "lang", "ts", "meta", "media", "context":
			if seen[k] {
				return k
			}
			seen[k] = true
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

func TestDuplicateFieldsAndBOM(t *testing.T) {
	tests := []struct {
		in      string
		code    Reason // "" accepted
		text    string
		comment string
	}{
		{`{"text":"you are trash","text":"nice post"}`, ReasonInvalidJSON, "", "two texts: which one a reader takes differs"},
		{`{"text":"a","te\u0078t":"b"}`, ReasonInvalidJSON, "", "the same key escaped"},
		{`{"text":"a","x":1,"x":2}`, "", "a", "unknown fields may repeat"},
		{"\xef\xbb\xbf{\"text\":\"hi\"}", "", "hi", "a BOM before the object"},
		{"\xef\xbb\xbfplain words", "", "plain words", "a BOM before plain text"},
	}
	for _, tt := range tests {
		m, err := DecodeMessage([]byte(tt.in), DecodeOptions{})
		var de *DecodeError
		switch {
		case tt.code == "" && err != nil:
			t.Errorf("%s: %v", tt.comment, err)
		case tt.code == "" && m.Text != tt.text:
			t.Errorf("%s: text %q, want %q", tt.comment, m.Text, tt.text)
		case tt.code != "" && (!errors.As(err, &de) || de.Code != tt.code):
			t.Errorf("%s: %v, want %s", tt.comment, err, tt.code)
		}
	}
}
