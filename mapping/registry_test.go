package mapping

import (
	"errors"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/srtest"
)

const envelopeAvro = `{"type":"record","name":"Msg","fields":[{"name":"id","type":"string"},{"name":"text","type":"string"},{"name":"author","type":["null","string"],"default":null}]}`

func TestFramedValues(t *testing.T) {
	reg := srtest.Start(t)
	avroID := reg.Register("posts-value", "AVRO", envelopeAvro)
	protoID := reg.Register("protos-value", "PROTOBUF", `syntax = "proto3"; message M { string text = 1; }`)
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
		{"plain envelope beside", []byte(`{"id":"x","text":"not framed"}`), "not framed", ""},
	}
	for _, tt := range tests {
		var m contract.Message
		err := d.Decode("posts", tt.value, nil, contract.DefaultDecodeOptions, &m)
		var de *contract.DecodeError
		switch {
		case tt.err == "" && (err != nil || m.Text != tt.text):
			t.Errorf("%s: %+v %v", tt.name, m, err)
		case tt.err != "" && (!errors.As(err, &de) || de.Code != tt.err):
			t.Errorf("%s: err %v, want %s", tt.name, err, tt.err)
		}
	}
	if n := reg.Lookups(); n > 3 {
		t.Errorf("%d lookups for three ids: schemas are not cached", n)
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
