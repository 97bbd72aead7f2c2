package mapping

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

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
	// SchemaRegistry, when set, reads values framed by a Confluent Schema
	// Registry (the byte 0, then a 4-byte schema id): Avro, Protobuf and
	// JSON Schema values become JSON for the mapping, or for the envelope
	// without one.
	SchemaRegistry Registry `yaml:"schema_registry"`
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
	if r := in.SchemaRegistry; r.URL != "" && !strings.HasPrefix(r.URL, "http://") && !strings.HasPrefix(r.URL, "https://") {
		return fmt.Errorf("input.schema_registry.url: %q is not an http(s) URL", r.URL)
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
	def     *Mapping
	topics  map[string]*Mapping
	schemas *schemas
}

// NewDecoder compiles the input section; nil when nothing is mapped (the
// envelope path, untouched).
func NewDecoder(in Input) (*Decoder, error) {
	if !in.Mapping.Set() && len(in.Topics) == 0 && in.SchemaRegistry.URL == "" {
		return nil, nil
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	d := &Decoder{topics: map[string]*Mapping{}}
	if in.SchemaRegistry.URL != "" {
		s, err := newSchemas(in.SchemaRegistry)
		if err != nil {
			return nil, err
		}
		d.schemas = s
	}
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
	if d.schemas != nil && len(value) > 0 && value[0] == 0 {
		if opts.MaxRecordBytes > 0 && len(value) > opts.MaxRecordBytes {
			return &contract.DecodeError{Code: contract.ReasonTooLarge, Detail: fmt.Sprintf("record is %d bytes, over the limit of %d", len(value), opts.MaxRecordBytes)}
		}
		j, err := d.schemas.toJSON(value)
		if err != nil {
			return err
		}
		value = j
	}
	mp := d.topics[topic]
	if mp == nil {
		mp = d.def
	}
	if mp == nil {
		return contract.DecodeMessageInto(value, opts, m)
	}
	return mp.Decode(value, h, opts, m)
}

// Enrich returns the record's value with the verdict added, in its own
// format: a framed Avro, Protobuf or JSON Schema value keeps its frame and
// schema;
// anything else is JSON (pipeline.Enrich).
func (d *Decoder) Enrich(value, verdict []byte) ([]byte, error) {
	if d != nil && d.schemas != nil && len(value) > 0 && value[0] == 0 {
		return d.schemas.enrich(value, verdict)
	}
	return nil, ErrNotFramed
}

// ErrNotFramed: the value has no schema-registry frame; enrich it as JSON.
var ErrNotFramed = errors.New("not a framed value")

// CheckEnrich refuses, at start, input topics whose registered Avro or
// Protobuf value schema has no moderation string field to enrich (nothing
// to check without a registry).
func (d *Decoder) CheckEnrich(ctx context.Context, topics []string) error {
	if d == nil || d.schemas == nil {
		return nil
	}
	return d.schemas.checkEnrich(ctx, topics)
}
