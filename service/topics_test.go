package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/service"
)

// A topic Sieve would write to that does not exist is a config error at
// start, named by its field, not a producer waiting forever.
func TestCheckTopicsNamesWhatIsMissing(t *testing.T) {
	brokers := startBroker(t)
	cfg := testConfig(t, brokers, 2)
	err := service.CheckTopics(context.Background(), cfg, brokers)
	if err == nil {
		t.Fatal("no error with no topics")
	}
	for _, want := range []string{"kafka.topics.input[0]", "kafka.topics.verdicts", "kafka.topics.dead_letters", "kafka.topics.rewrites", "create_topics"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if err := service.CreateTopics(context.Background(), cfg, brokers); err != nil {
		t.Fatal(err)
	}
	if err := service.CheckTopics(context.Background(), cfg, brokers); err != nil {
		t.Fatalf("after CreateTopics: %v", err)
	}
}
