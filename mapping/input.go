package mapping

import (
	"fmt"
	"sort"

	"github.com/sieve-stream/sieve/contract"
)

// Input is the input section of sieve.yaml: how records are read into
// messages. Without a mapping a record is Sieve's own envelope
// (docs/contract.md), read exactly as always.
type Input struct {
	// Mapping maps every input topic's schema onto the message.
	Mapping Config `yaml:"mapping"`
	// Topics give a topic its own mapping, in place of Mapping.
	Topics map[string]Topic `yaml:"topics"`
}

// Topic is one input topic's own reading.
type Topic struct {
	Mapping Config `yaml:"mapping"`
}

// Validate names the first bad field.
func (in *Input) Validate() error {
	if in.Mapping.Set() {
		if err := in.Mapping.Validate("input.mapping"); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(in.Topics))
	for n := range in.Topics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := in.Topics[n]
		if err := t.Mapping.Validate("input.topics." + n + ".mapping"); err != nil {
			return err
		}
	}
	return nil
}

// Decoder reads records of any topic: through the topic's mapping, the
// default mapping, or as the envelope.
type Decoder struct {
	def    *Mapping
	topics map[string]*Mapping
}

// NewDecoder compiles the input section; nil when nothing is mapped (the
// envelope path, untouched).
func NewDecoder(in Input) (*Decoder, error) {
	if !in.Mapping.Set() && len(in.Topics) == 0 {
		return nil, nil
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	d := &Decoder{topics: map[string]*Mapping{}}
	if in.Mapping.Set() {
		m, err := New(in.Mapping)
		if err != nil {
			return nil, fmt.Errorf("input.mapping: %w", err)
		}
		d.def = m
	}
	for n, t := range in.Topics {
		m, err := New(t.Mapping)
		if err != nil {
			return nil, fmt.Errorf("input.topics.%s.mapping: %w", n, err)
		}
		d.topics[n] = m
	}
	return d, nil
}

// Decode reads one record of topic into m.
func (d *Decoder) Decode(topic string, value []byte, h Header, opts contract.DecodeOptions, m *contract.Message) error {
	mp := d.topics[topic]
	if mp == nil {
		mp = d.def
	}
	if mp == nil {
		return contract.DecodeMessageInto(value, opts, m)
	}
	return mp.Decode(value, h, opts, m)
}
