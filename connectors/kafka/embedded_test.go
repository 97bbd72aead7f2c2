package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// With a data dir, the embedded broker's records survive a restart.
func TestEmbeddedBrokerDataDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	b, err := StartBroker(0, dir)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	if err := EnsureTopics(ctx, cl, 2, "posts", "posts"); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "posts", Key: []byte("k"), Value: []byte("kept")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	b.Close()

	b2, err := StartBroker(0, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	cl2, err := kgo.NewClient(kgo.SeedBrokers(b2.Addrs()...), kgo.ConsumeTopics("posts"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	fs := cl2.PollFetches(ctx)
	if err := fs.Err0(); err != nil {
		t.Fatal(err)
	}
	recs := fs.Records()
	if len(recs) != 1 || string(recs[0].Value) != "kept" {
		t.Fatalf("after restart: %d records", len(recs))
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{Embedded: true}
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (&Config{}).RequireBrokers(); err == nil {
		t.Fatal("no brokers and not embedded must fail for commands that dial Kafka")
	}
	c.SASL = SASLConfig{Mechanism: "PLAIN"}
	if err := c.Validate(); err == nil {
		t.Fatal("SASL without a username must fail")
	}
}
