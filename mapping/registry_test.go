package mapping

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/srtest"
)

const envelopeAvro = `{"type":"record","name":"Msg","fields":[{"name":"id","type":"string"},{"name":"text","type":"string"},{"name":"author","type":["null","string"],"default":null}]}`

func TestFramedValues(t *testing.T) {
	reg := srtest.Start(t)
	avroID := reg.Register("posts-value", "AVRO", envelopeAvro)
	protoID := reg.Register("protos-value", "PROTOBUF", `syntax = "proto3"; message M { string text = 1; }`)
	// Shared types in subjects of their own, imported by reference.
	reg.Register("shared-author", "AVRO", `{"type":"record","name":"Author","namespace":"shared","fields":[{"name":"id","type":"string"}]}`)
	refAvroID := reg.Register("refs-avro-value", "AVRO", `{"type":"record","name":"Post","fields":[{"name":"text","type":"string"},{"name":"by","type":"shared.Author"}]}`,
		srtest.Reference{Name: "shared.Author", Subject: "shared-author", Version: 1})
	reg.Register("shared-proto", "PROTOBUF", `syntax = "proto3"; package shared; message Body { string text = 1; }`)
	refProtoID := reg.Register("refs-proto-value", "PROTOBUF", `syntax = "proto3"; import "shared/body.proto"; message M { string text = 1; shared.Body body = 2; }`,
		srtest.Reference{Name: "shared/body.proto", Subject: "shared-proto", Version: 1})
	missingRefID := reg.Register("refs-missing-value", "PROTOBUF", `syntax = "proto3"; import "gone.proto"; message M { Gone g = 1; }`,
		srtest.Reference{Name: "gone.proto", Subject: "no-such-subject", Version: 1})
	d, err := NewDecoder(Input{SchemaRegistry: Registry{URL: reg.URL}})
	if err != nil {
		t.Fatal(err)
	}
	var h sr.ConfluentHeader
	frame := func(id int, body []byte) []byte { b, _ := h.AppendEncode(nil, id, nil); return append(b, body...) }
	author := "u-1"
	body, _ := avro.Marshal(avro.MustParse(envelopeAvro), map[string]any{"id": "m-1", "text": "hello there", "author": &author})
	tests := []struct {
		name  string
		value []byte
		text  string
		err   contract.Reason
	}{
		{"avro envelope", frame(avroID, body), "hello there", ""},
		{"avro truncated", frame(avroID, body[:3]), "", contract.ReasonInvalidJSON},
		{"unknown id", frame(4242, body), "", contract.ReasonSchemaUnknown},
		{"protobuf", frame(protoID, []byte{0, 10, 2, 'h', 'i'}), "hi", ""},
		{"protobuf, no such message", frame(protoID, []byte{2, 6, 10, 2, 'h', 'i'}), "", contract.ReasonSchemaUnknown},
		{"protobuf truncated", frame(protoID, []byte{0, 10, 9, 'h'}), "", contract.ReasonInvalidJSON},
		{"short frame", []byte{0, 1}, "", contract.ReasonSchemaUnknown},
		{"avro with a referenced type", frame(refAvroID, []byte{4, 'h', 'i', 2, 'u'}), "hi", ""},
		{"protobuf with a referenced file", frame(refProtoID, []byte{0, 10, 2, 'h', 'i', 18, 4, 10, 2, 'x', 'y'}), "hi", ""},
		{"protobuf reference not in the registry", frame(missingRefID, []byte{0}), "no-such-subject", contract.ReasonSchemaUnknown},
		{"plain envelope beside", []byte(`{"id":"x","text":"not framed"}`), "not framed", ""},
	}
	for _, tt := range tests {
		var m contract.Message
		err := d.Decode("posts", tt.value, nil, contract.DefaultDecodeOptions, &m)
		var de *contract.DecodeError
		switch {
		case tt.err == "" && (err != nil || m.Text != tt.text):
			t.Errorf("%s: %+v %v", tt.name, m, err)
		case tt.err != "" && (!errors.As(err, &de) || de.Code != tt.err || !strings.Contains(de.Detail, tt.text)):
			// For an error, text is what its detail must name.
			t.Errorf("%s: err %v, want %s naming %q", tt.name, err, tt.err, tt.text)
		}
	}
	if n := reg.Lookups(); n > 6 {
		t.Errorf("%d lookups for six ids: schemas are not cached", n)
	}
}

func FuzzFramedAvro(f *testing.F) {
	reg, stop := srtest.New()
	defer stop()
	id := reg.Register("posts-value", "AVRO", envelopeAvro)
	d, err := NewDecoder(Input{SchemaRegistry: Registry{URL: reg.URL}})
	if err != nil {
		f.Fatal(err)
	}
	var h sr.ConfluentHeader
	head, _ := h.AppendEncode(nil, id, nil)
	body, _ := avro.Marshal(avro.MustParse(envelopeAvro), map[string]any{"id": "m", "text": "hi", "author": nil})
	f.Add(body)
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x08})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m contract.Message
		err := d.Decode("posts", append(append([]byte(nil), head...), b...), nil, contract.DefaultDecodeOptions, &m)
		var de *contract.DecodeError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("a %T: %v", err, err)
		}
	})
}

func FuzzFramedProtobuf(f *testing.F) {
	reg, stop := srtest.New()
	defer stop()
	id := reg.Register("posts-value", "PROTOBUF", `syntax = "proto3"; message M { string text = 1; message N { int64 n = 1; } N n = 2; }`)
	d, err := NewDecoder(Input{SchemaRegistry: Registry{URL: reg.URL}})
	if err != nil {
		f.Fatal(err)
	}
	head, _ := (&sr.ConfluentHeader{}).AppendEncode(nil, id, nil)
	f.Add([]byte{0, 10, 2, 'h', 'i'})
	f.Add([]byte{2, 0, 2, 8, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m contract.Message
		err := d.Decode("posts", append(append([]byte(nil), head...), b...), nil, contract.DefaultDecodeOptions, &m)
		var de *contract.DecodeError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("a %T: %v", err, err)
		}
	})
}

// TestEnrichProtobuf: the verdict goes into the named message's moderation
// string; the frame is kept, and so are fields this schema does not know
// (a newer writer's); a message without the field is an error, not a
// record its readers cannot parse.
func TestEnrichProtobuf(t *testing.T) {
	reg := srtest.Start(t)
	id := reg.Register("posts-value", "PROTOBUF", `syntax = "proto3"; message Other { int32 n = 1; } message Post { string text = 1; string moderation = 3; }`)
	d, err := NewDecoder(Input{SchemaRegistry: Registry{URL: reg.URL}})
	if err != nil {
		t.Fatal(err)
	}
	var h sr.ConfluentHeader
	head, _ := h.AppendEncode(nil, id, []int{1})
	unknown := []byte{0x20, 7} // field 4, varint 7
	value := append(append(append([]byte(nil), head...), 10, 2, 'h', 'i'), unknown...)
	verdict := []byte(`{"decision":"flag"}`)
	out, err := d.Enrich(value, verdict)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, head) {
		t.Fatalf("frame %x, want %x", out[:min(len(out), len(head))], head)
	}
	e := d.schemas.lookup(id)
	msg := dynamicpb.NewMessage(e.proto.Messages().Get(1))
	if err := proto.Unmarshal(out[len(head):], msg); err != nil {
		t.Fatal(err)
	}
	f := msg.Descriptor().Fields()
	if got := msg.Get(f.ByName("text")).String(); got != "hi" {
		t.Errorf("text %q", got)
	}
	if got := msg.Get(f.ByName("moderation")).String(); got != string(verdict) {
		t.Errorf("moderation %q", got)
	}
	if !bytes.Equal(msg.GetUnknown(), unknown) {
		t.Errorf("unknown fields %x, want %x", msg.GetUnknown(), unknown)
	}

	other, _ := h.AppendEncode(nil, id, []int{0})
	if _, err := d.Enrich(append(other, 8, 1), verdict); err == nil || !strings.Contains(err.Error(), `"moderation"`) {
		t.Errorf("a message without the field: err %v", err)
	}
}

// TestProtoModerationField: which Protobuf messages enrich output can put
// the verdict in, as the start-up check and each record see it.
func TestProtoModerationField(t *testing.T) {
	reg := srtest.Start(t)
	s, err := newSchemas(Registry{URL: reg.URL})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, proto string
		ok          bool
	}{
		{"a string field", `message M { string text = 1; string moderation = 2; }`, true},
		{"only in a nested message (index path [0, 0])", `message M { message N { string moderation = 1; } N n = 1; }`, true},
		{"an optional string", `message M { optional string moderation = 1; }`, true},
		{"in a oneof: setting it would clear the text", `message M { oneof body { string text = 1; string moderation = 2; } }`, false},
		{"repeated", `message M { repeated string moderation = 1; }`, false},
		{"not a string", `message M { int32 moderation = 1; }`, false},
		{"none", `message M { string text = 1; }`, false},
	}
	for _, tt := range tests {
		fd, err := s.compileProto(sr.Schema{Schema: `syntax = "proto3"; ` + tt.proto})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := anyProtoModeration(fd); got != tt.ok {
			t.Errorf("%s: enrichable %v, want %v", tt.name, got, tt.ok)
		}
	}
}

// TestSchemaLookedUpOnce: records of a new schema id arriving together in
// several workers cost the registry one lookup, not one each.
func TestSchemaLookedUpOnce(t *testing.T) {
	reg := srtest.Start(t)
	id := reg.Register("posts-value", "AVRO", envelopeAvro)
	d, err := NewDecoder(Input{SchemaRegistry: Registry{URL: reg.URL}})
	if err != nil {
		t.Fatal(err)
	}
	head, _ := (&sr.ConfluentHeader{}).AppendEncode(nil, id, nil)
	body, _ := avro.Marshal(avro.MustParse(envelopeAvro), map[string]any{"id": "m", "text": "hi", "author": nil})
	value := append(head, body...)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			var m contract.Message
			if err := d.Decode("posts", value, nil, contract.DefaultDecodeOptions, &m); err != nil || m.Text != "hi" {
				t.Errorf("%+v %v", m, err)
			}
		})
	}
	wg.Wait()
	if n := reg.Lookups(); n != 1 {
		t.Errorf("%d lookups of one id by 8 workers at once, want 1", n)
	}
}

// TestFailedSchemasBounded: a stream of ids the registry does not know
// does not grow the cache without end.
func TestFailedSchemasBounded(t *testing.T) {
	reg := srtest.Start(t)
	d, err := NewDecoder(Input{SchemaRegistry: Registry{URL: reg.URL}})
	if err != nil {
		t.Fatal(err)
	}
	var h sr.ConfluentHeader
	for id := 1000; id < 1000+maxFailed+200; id++ {
		v, _ := h.AppendEncode(nil, id, nil)
		var m contract.Message
		var de *contract.DecodeError
		if err := d.Decode("posts", append(v, 2, 'h', 'i'), nil, contract.DefaultDecodeOptions, &m); !errors.As(err, &de) || de.Code != contract.ReasonSchemaUnknown {
			t.Fatalf("id %d: %v", id, err)
		}
	}
	d.schemas.mu.Lock()
	n, failed := len(d.schemas.byID), d.schemas.failed
	d.schemas.mu.Unlock()
	if n > maxFailed || failed != n {
		t.Errorf("%d ids cached (%d counted failed) after %d unknown ones, want at most %d", n, failed, maxFailed+200, maxFailed)
	}
}
