package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sieve-stream/sieve/mapping"
	"github.com/sieve-stream/sieve/service"
)

// TestMappedTopic reads a topic of another schema through input.topics'
// mapping, over kfake: its messages get the same verdicts as the same texts
// sent as Sieve's envelope to another topic, and a record without the
// required author is a mapping_failed dead letter that names the path.
func TestMappedTopic(t *testing.T) {
	brokers := startBroker(t)
	cfg := testConfig(t, brokers, 2)
	cfg.Kafka.Topics.Input = []string{"posts", "comments"}
	cfg.Input.Topics = map[string]mapping.Topic{"comments": {Mapping: mapping.Config{
		ID: "comment.id", Text: mapping.Sources{"comment.title", "comment.body"}, Author: "user.id",
		Tenant: "header:x-tenant", Channel: "'comments'", Required: []string{"author"}}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := service.CreateTopics(context.Background(), cfg, brokers); err != nil {
		t.Fatal(err)
	}
	texts := []string{"you are a worthless stupid idiot", "WIN a free iPhone now, click here", "lovely weather in the park today", "I will kill you tonight"}
	var recs []*kgo.Record
	for i, text := range texts {
		env, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("e-%d", i), "title": "note", "text": text, "author": "u-1", "tenant": "acme", "channel": "comments"})
		recs = append(recs, &kgo.Record{Topic: "posts", Key: []byte(fmt.Sprintf("e-%d", i)), Value: env})
		own, _ := json.Marshal(map[string]any{"comment": map[string]any{"id": i, "title": "note", "body": text}, "user": map[string]string{"id": "u-1"}})
		recs = append(recs, &kgo.Record{Topic: "comments", Key: []byte(fmt.Sprintf("c-%d", i)), Value: own,
			Headers: []kgo.RecordHeader{{Key: "x-tenant", Value: []byte("acme")}}})
	}
	recs = append(recs, &kgo.Record{Topic: "comments", Key: []byte("orphan"), Value: []byte(`{"comment":{"id":99,"body":"no author here"}}`)})
	produceAll(t, newClient(t, brokers), recs)

	var verdicts, dead []*kgo.Record
	runMemberUntil(t, cfg, brokers, "verdicts and the dead letter", func() bool {
		verdicts = readTopic(t, brokers, "verdicts", 2*len(texts), false, 20*time.Second)
		dead = readTopic(t, brokers, "dead-letters", 1, false, 20*time.Second)
		return len(verdicts) == 2*len(texts) && len(dead) == 1
	})
	byID := verdictsByID(t, verdicts)
	for i := range texts {
		e, m := byID[fmt.Sprintf("e-%d", i)], byID[fmt.Sprint(i)]
		if e.ID == "" || m.ID == "" {
			t.Fatalf("text %d: envelope verdict %+v, mapped verdict %+v", i, e, m)
		}
		if !reflect.DeepEqual(e.Labels, m.Labels) || !reflect.DeepEqual(e.Flags, m.Flags) || e.Decision != m.Decision {
			t.Errorf("%q: the mapped topic's verdict %v %s differs from the envelope's %v %s", texts[i], m.Flags, m.Decision, e.Flags, e.Decision)
		}
	}
	h := map[string]string{}
	for _, x := range dead[0].Headers {
		h[x.Key] = string(x.Value)
	}
	if h["sieve-error"] != "mapping_failed" || !strings.Contains(h["sieve-detail"], "user.id") || string(dead[0].Key) != "orphan" {
		t.Errorf("dead letter %s: %v", dead[0].Key, h)
	}
}

// TestOutputModes: with output.mode enrich the verdicts topic receives the
// input's own JSON with a "moderation" object; with headers, the input's
// bytes untouched and the verdict in sieve-* headers; both over kfake, on a
// mapped topic.
func TestOutputModes(t *testing.T) {
	brokers := startBroker(t)
	for _, mode := range []string{"enrich", "headers"} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig(t, brokers, 1)
			in, out := "comments-"+mode, "verdicts-"+mode
			cfg.Kafka.Group = "sieve-" + mode
			cfg.Kafka.Topics.Input, cfg.Kafka.Topics.Verdicts = []string{in}, out
			cfg.Input.Mapping = mapping.Config{ID: "comment.id", Text: mapping.Sources{"comment.body"}, Author: "user.id"}
			cfg.Output.Mode = mode
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := service.CreateTopics(context.Background(), cfg, brokers); err != nil {
				t.Fatal(err)
			}
			value := []byte(`{"comment":{"id":1,"body":"you are a worthless stupid idiot"},"user":{"id":"u-1"}}`)
			produceAll(t, newClient(t, brokers), []*kgo.Record{{Topic: in, Key: []byte("k-1"), Value: value,
				Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-abc-def-01")}, {Key: "sieve-decision", Value: []byte("allow")}}}})
			var got []*kgo.Record
			runMemberUntil(t, cfg, brokers, "the output", func() bool {
				got = readTopic(t, brokers, out, 1, false, 20*time.Second)
				return len(got) == 1
			})
			r := got[0]
			h := map[string]string{}
			decisions := 0
			for _, x := range r.Headers {
				h[x.Key] = string(x.Value)
				if x.Key == "sieve-decision" {
					decisions++
				}
			}
			if mode == "headers" && decisions != 1 {
				t.Errorf("%d sieve-decision headers: the input's forged one was kept", decisions)
			}
			switch mode {
			case "enrich":
				var v struct {
					Comment    struct{ Body string }
					Moderation struct {
						ID    string   `json:"id"`
						Flags []string `json:"flags"`
					}
				}
				if err := json.Unmarshal(r.Value, &v); err != nil {
					t.Fatal(err)
				}
				if v.Comment.Body == "" || v.Moderation.ID != "1" || len(v.Moderation.Flags) == 0 || v.Moderation.Flags[0] != "harassment" {
					t.Errorf("enriched value %s", r.Value)
				}
			case "headers":
				if string(r.Value) != string(value) || h["sieve-decision"] == "" || h["sieve-decision"] == "allow" ||
					!strings.Contains(h["sieve-flags"], "harassment") || !strings.Contains(h["sieve-models"], "harassment=moderation@") || h["traceparent"] != "00-abc-def-01" {
					t.Errorf("value %s, headers %v", r.Value, h)
				}
			}
		})
	}
}
