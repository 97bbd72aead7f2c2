package kafka

import (
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is an embedded, in-process Kafka broker (franz-go's kfake) that
// speaks the Kafka protocol over TCP, for the quickstart, benchmarks and
// tests. It is not a production broker.
type Broker struct {
	c *kfake.Cluster
}

// StartBroker starts an embedded broker on port (0: any free port). With
// dataDir set, its log survives a restart in that folder.
func StartBroker(port int, dataDir string) (*Broker, error) {
	// Auto-creation serves routes whose topic depends on the message's
	// tenant or channel (route.Config.Dynamic); clients only create topics
	// when they ask to.
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port), kfake.AllowAutoTopicCreation()}
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("kafka.data_dir: %w", err)
		}
		opts = append(opts, kfake.DataDir(dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker: %w", err)
	}
	return &Broker{c: c}, nil
}

// Addrs are the broker's listen addresses.
func (b *Broker) Addrs() []string { return b.c.ListenAddrs() }

// Close stops the broker (and writes its data when it has a data dir).
func (b *Broker) Close() { b.c.Close() }
