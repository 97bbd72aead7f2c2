package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsValidate(t *testing.T) {
	c := Default()
	c.Kafka.Embedded = true
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Pipeline.MaxTextBytes != 64<<10 || c.Delivery != AtLeastOnce || !*c.Pipeline.Breaker.PauseConsumption {
		t.Fatalf("unexpected defaults: %+v", c.Pipeline)
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sieve.yaml")
	yaml := `
delivery: exactly_once
kafka:
  brokers: [localhost:9092]
  topics: {input: [posts, comments], verdicts: v}
pipeline:
  batch: {max_items: 64, linger: 2ms}
  max_text_bytes: 1000
`
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Delivery != ExactlyOnce || len(c.Kafka.Topics.Input) != 2 || c.Kafka.Topics.Verdicts != "v" ||
		c.Kafka.Topics.DeadLetters != "dead-letters" || c.Pipeline.Batch.Linger != 2*time.Millisecond || c.Pipeline.MaxTextBytes != 1000 {
		t.Fatalf("loaded %+v", c)
	}
}

// A config error names the file and the field.
func TestLoadErrorsNameFileAndField(t *testing.T) {
	tests := []struct{ yaml, field string }{
		{"delivery: twice\nkafka: {embedded: true}", "delivery"},
		{"kafka: {embedded: true, start_from: middle}", "kafka.start_from"},
		{"kafka: {embedded: true, topics: {input: [verdicts]}}", "kafka.topics.input[0]"},
		{"kafka: {embedded: true, sasl: {mechanism: KERBEROS}}", "kafka.sasl.mechanism"},
		{"kafka: {embedded: true}\npipeline: {max_in_flight: 10, batch: {max_items: 100}}", "pipeline.max_in_flight"},
		{"kafka: {embedded: true}\nclassifiers: [{type: bert}]", "classifiers[0].type"},
		{"kafka: {embedded: true}\nclassifiers: [{type: rules, rules: {rules: [{label: spam, weight: 2, keywords: [x]}]}}]", "classifiers[0].rules.rules[0].weight"},
		{"kafka: {embedded: true}\npolicy: {rules: [{label: spam, min: 0.9, decision: delete}]}", "policy.rules[0].decision"},
		{"kafka: {embedded: true}\nlog: {format: xml}", "log.format"},
		{"kafka: {embedded: true, partitons: 3}", "partitons"},
		{"kafka: {embedded: true}\npipeline: {batch: {linger: soon}}", "linger"},
		{"kafka: {embedded: true}\nroutes: [{topic: 'reviews.{dept}'}]", "routes[0].topic"},
		{"kafka: {embedded: true}\nroutes: [{topic: x, when: {decisions: [maybe]}}]", "routes[0].when.decisions"},
		{"kafka: {embedded: true}\naggregates: {topic: agg, windows: [100ms]}", "aggregates.windows[0]"},
		{"kafka: {embedded: true}\naggregates: {topic: agg, lateness: -1s}", "aggregates.lateness"},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil {
			t.Errorf("%q: no error", tt.yaml)
			continue
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%q: error %q does not name %s and %s", tt.yaml, err, path, tt.field)
		}
	}
}

func TestExampleConfigLoads(t *testing.T) {
	if _, err := Load("../sieve.example.yaml"); err != nil {
		t.Fatal(err)
	}
}

func TestReviewsExampleLoads(t *testing.T) {
	c, err := Load("../examples/reviews/sieve.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Routes) != 3 || c.Aggregates.Topic == "" || c.Aggregates.StateTopic != c.Aggregates.Topic+".state" {
		t.Fatalf("reviews example: routes %+v aggregates %+v", c.Routes, c.Aggregates)
	}
}

func TestProxyExampleLoads(t *testing.T) {
	c, err := Load("../deploy/proxy/sieve.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Proxy.Upstream.BaseURL == "" || len(c.Proxy.Keys) != 1 || c.Guardrails.Policy == "" {
		t.Fatalf("proxy example: %+v", c.Proxy)
	}
}
