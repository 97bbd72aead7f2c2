package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sieve-stream/sieve/internal/srtest"
	"github.com/sieve-stream/sieve/mapping"
	"github.com/sieve-stream/sieve/service"
)

const commentAvro = `{"type":"record","name":"Comment","namespace":"example","fields":[
 {"name":"comment","type":{"type":"record","name":"Body","fields":[{"name":"id","type":"long"},{"name":"title","type":["null","string"],"default":null},{"name":"body","type":"string"}]}},
 {"name":"user","type":{"type":"record","name":"User","fields":[{"name":"id","type":"string"}]}}]}`

// TestSchemaRegistryTopics reads Avro, Protobuf and JSON Schema values framed by a
// schema registry (a stand-in speaking its REST API), through a mapping,
// over kfake: they get the same verdicts as the same texts in Sieve's
// envelope, and a value whose schema id the registry does not know is a
// schema_unknown dead letter.
func TestSchemaRegistryTopics(t *testing.T) {
	reg := srtest.Start(t)
	avroID := reg.Register("comments-avro-value", "AVRO", commentAvro)
	jsonID := reg.Register("comments-json-value", "JSON", `{"type":"object"}`)
	reg.Register("example-user", "PROTOBUF", userProto)
	protoID := reg.Register("comments-proto-value", "PROTOBUF", commentProto, srtest.Reference{Name: "example/user.proto", Subject: "example-user", Version: 1})
	md := protoFile(t, commentProto, map[string]string{"example/user.proto": userProto}).Messages().Get(0)
	schema := avro.MustParse(commentAvro)

	brokers := startBroker(t)
	cfg := testConfig(t, brokers, 2)
	cfg.Kafka.Topics.Input = []string{"posts", "comments-avro", "comments-json", "comments-proto"}
	m := mapping.Config{ID: "comment.id", Text: mapping.Sources{"comment.title", "comment.body"}, Author: "user.id"}
	cfg.Input.Topics = map[string]mapping.Topic{"comments-avro": {Mapping: m}, "comments-json": {Mapping: m}, "comments-proto": {Mapping: m}}
	cfg.Input.SchemaRegistry = mapping.Registry{URL: reg.URL}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := service.CreateTopics(context.Background(), cfg, brokers); err != nil {
		t.Fatal(err)
	}
	var h sr.ConfluentHeader
	texts := []string{"you are a worthless stupid idiot", "WIN a free iPhone now, click here", "lovely weather in the park today"}
	var recs []*kgo.Record
	for i, text := range texts {
		env, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("e-%d", i), "title": "note", "text": text, "author": "u-1"})
		recs = append(recs, &kgo.Record{Topic: "posts", Value: env})
		title := "note"
		body, err := avro.Marshal(schema, map[string]any{"comment": map[string]any{"id": int64(100 + i), "title": &title, "body": text}, "user": map[string]any{"id": "u-1"}})
		if err != nil {
			t.Fatal(err)
		}
		framed, _ := h.AppendEncode(nil, avroID, nil)
		recs = append(recs, &kgo.Record{Topic: "comments-avro", Value: append(framed, body...)})
		js, _ := json.Marshal(map[string]any{"comment": map[string]any{"id": 200 + i, "title": "note", "body": text}, "user": map[string]string{"id": "u-1"}})
		framed, _ = h.AppendEncode(nil, jsonID, nil)
		recs = append(recs, &kgo.Record{Topic: "comments-json", Value: append(framed, js...)})
		pm := dynamicpb.NewMessage(md)
		if err := protojson.Unmarshal([]byte(fmt.Sprintf(`{"comment":{"id":"%d","title":"note","body":%q},"user":{"id":"u-1"}}`, 300+i, text)), pm); err != nil {
			t.Fatal(err)
		}
		pb, _ := proto.Marshal(pm)
		framed, _ = h.AppendEncode(nil, protoID, []int{0})
		recs = append(recs, &kgo.Record{Topic: "comments-proto", Value: append(framed, pb...)})
	}
	unknown, _ := h.AppendEncode(nil, 999, nil)
	recs = append(recs, &kgo.Record{Topic: "comments-avro", Key: []byte("stranger"), Value: append(unknown, 2, 'h', 'i')})
	produceAll(t, newClient(t, brokers), recs)

	var verdicts, dead []*kgo.Record
	runMemberUntil(t, cfg, brokers, "verdicts and the dead letter", func() bool {
		verdicts = readTopic(t, brokers, "verdicts", 4*len(texts), false, 20*time.Second)
		dead = readTopic(t, brokers, "dead-letters", 1, false, 20*time.Second)
		return len(verdicts) == 4*len(texts) && len(dead) == 1
	})
	byID := verdictsByID(t, verdicts)
	for i, text := range texts {
		e := byID[fmt.Sprintf("e-%d", i)]
		for _, id := range []string{fmt.Sprint(100 + i), fmt.Sprint(200 + i), fmt.Sprint(300 + i)} {
			v, ok := byID[id]
			if !ok || !reflect.DeepEqual(v.Labels, e.Labels) || v.Decision != e.Decision {
				t.Errorf("%q: verdict %s %+v differs from the envelope's %+v", text, id, v, e)
			}
		}
	}
	hd := map[string]string{}
	for _, x := range dead[0].Headers {
		hd[x.Key] = string(x.Value)
	}
	if hd["sieve-error"] != "schema_unknown" || !strings.Contains(hd["sieve-detail"], "999") {
		t.Errorf("dead letter headers %v", hd)
	}
	if n := reg.Lookups(); n > 4 {
		t.Errorf("%d schema lookups for 4 schema ids: the cache does not hold", n)
	}
}

// commentProto imports its User from another subject, as registries hold
// shared types: the reader resolves the schema reference.
const commentProto = `syntax = "proto3";
package example;
import "example/user.proto";
message Post {
  message Comment { int64 id = 1; string title = 2; string body = 3; }
  Comment comment = 1;
  User user = 2;
}`

const userProto = `syntax = "proto3";
package example;
message User { string id = 1; }`

// protoFile compiles a .proto source (with the files it imports) as the
// registry stand-in would hand it out, for the test's producer.
func protoFile(t *testing.T, src string, imports map[string]string) protoreflect.FileDescriptor {
	t.Helper()
	files := map[string]string{"p.proto": src}
	maps.Copy(files, imports)
	c := protocompile.Compiler{Resolver: &protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(files)}}
	fds, err := c.Compile(context.Background(), "p.proto")
	if err != nil {
		t.Fatal(err)
	}
	return fds[0]
}

// TestEnrichFramed: with output.mode enrich, an Avro or Protobuf topic
// whose schema has a moderation string field gets its own records back,
// in the same frame and schema, with the verdict in that field and every
// other field as it was; a member for a topic whose schema has none
// refuses to start, naming the subject.
func TestEnrichFramed(t *testing.T) {
	const avroWith = `{"type":"record","name":"Post","fields":[{"name":"id","type":"string"},{"name":"text","type":"string"},{"name":"moderation","type":["null","string"],"default":null}]}`
	const avroWithout = `{"type":"record","name":"Post","fields":[{"name":"id","type":"string"},{"name":"text","type":"string"}]}`
	const protoWith = `syntax = "proto3"; package p; message Other { int32 n = 1; } message Post { string id = 1; string text = 2; string moderation = 3; }`
	const protoWithout = `syntax = "proto3"; package p; message Post { string id = 1; string text = 2; int32 moderation = 3; }`
	const text = "you are a worthless stupid idiot"
	var h sr.ConfluentHeader
	type fields struct{ id, moderation string }
	tests := []struct {
		typ, with, without string
		encode             func(t *testing.T, id int) []byte
		decode             func(t *testing.T, value []byte) fields
	}{
		{"AVRO", avroWith, avroWithout,
			func(t *testing.T, id int) []byte {
				body, _ := avro.Marshal(avro.MustParse(avroWith), map[string]any{"id": "a-1", "text": text, "moderation": nil})
				b, _ := h.AppendEncode(nil, id, nil)
				return append(b, body...)
			},
			func(t *testing.T, value []byte) fields {
				_, rest, _ := h.DecodeID(value)
				var v map[string]any
				if err := avro.Unmarshal(avro.MustParse(avroWith), rest, &v); err != nil {
					t.Fatal(err)
				}
				mod, _ := v["moderation"].(string)
				return fields{fmt.Sprint(v["id"]), mod}
			}},
		{"PROTOBUF", protoWith, protoWithout,
			func(t *testing.T, id int) []byte {
				pm := dynamicpb.NewMessage(protoFile(t, protoWith, nil).Messages().Get(1))
				if err := protojson.Unmarshal([]byte(`{"id":"a-1","text":"`+text+`"}`), pm); err != nil {
					t.Fatal(err)
				}
				body, _ := proto.Marshal(pm)
				b, _ := h.AppendEncode(nil, id, []int{1})
				return append(b, body...)
			},
			func(t *testing.T, value []byte) fields {
				_, rest, _ := h.DecodeID(value)
				idx, body, err := h.DecodeIndex(rest, 4)
				if err != nil || !slices.Equal(idx, []int{1}) {
					t.Fatalf("output frame: message index %v, %v", idx, err)
				}
				pm := dynamicpb.NewMessage(protoFile(t, protoWith, nil).Messages().Get(1))
				if err := proto.Unmarshal(body, pm); err != nil {
					t.Fatal(err)
				}
				f := pm.Descriptor().Fields()
				return fields{pm.Get(f.ByName("id")).String(), pm.Get(f.ByName("moderation")).String()}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			reg := srtest.Start(t)
			id := reg.Register("posts-framed-value", tt.typ, tt.with)
			reg.Register("plain-framed-value", tt.typ, tt.without)
			brokers := startBroker(t)
			cfg := testConfig(t, brokers, 1)
			cfg.Kafka.Topics.Input = []string{"posts-framed"}
			cfg.Input.SchemaRegistry = mapping.Registry{URL: reg.URL}
			cfg.Output.Mode = "enrich"
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := service.CreateTopics(context.Background(), cfg, brokers); err != nil {
				t.Fatal(err)
			}
			produceAll(t, newClient(t, brokers), []*kgo.Record{{Topic: "posts-framed", Value: tt.encode(t, id)}})
			var got []*kgo.Record
			runMemberUntil(t, cfg, brokers, "the enriched record", func() bool {
				got = readTopic(t, brokers, "verdicts", 1, false, 20*time.Second)
				return len(got) == 1
			})
			if gid, _, err := h.DecodeID(got[0].Value); err != nil || gid != id {
				t.Fatalf("output frame: id %d, %v", gid, err)
			}
			f := tt.decode(t, got[0].Value)
			if f.id != "a-1" || !strings.Contains(f.moderation, `"harassment"`) || !strings.Contains(f.moderation, `"decision"`) {
				t.Errorf("enriched record %+v", f)
			}

			bad := *cfg
			bad.Kafka.Topics.Input = []string{"plain-framed"}
			if _, err := service.NewMember(&bad, service.MemberOptions{Brokers: brokers}); err == nil || !strings.Contains(err.Error(), "plain-framed-value") {
				t.Errorf("a topic whose schema has no moderation string field: err %v, want a refusal naming the subject", err)
			}
		})
	}
}
