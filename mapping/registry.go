package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/bufbuild/protocompile"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

// Registry is a Confluent Schema Registry that framed values' schemas are
// read from.
type Registry struct {
	// URL is the registry's base URL (http://registry:8081); empty: values
	// are never read as framed.
	URL      string `yaml:"url"`
	Username string `yaml:"username"` // basic auth, when the registry asks
	Password string `yaml:"password"`
	// Timeout bounds one schema lookup (default 5s).
	Timeout time.Duration `yaml:"timeout"`
}

// schemas reads framed values: the magic byte 0, a 4-byte schema id, then
// the value in the schema's format. Schemas are cached by id; an id the
// registry does not know is remembered for a minute, so that a stream of
// such records does not hammer it.
type schemas struct {
	cl      *sr.Client
	timeout time.Duration
	mu      sync.Mutex
	byID    map[int]*schemaEntry
	failed  int // entries in byID with an error
}

type schemaEntry struct {
	// ready is closed once the entry is filled in: the other readers of
	// an id being looked up wait for that one lookup.
	ready   chan struct{}
	typ     sr.SchemaType
	avro    avro.Schema
	proto   protoreflect.FileDescriptor
	err     error // why the id cannot be read
	expires time.Time
}

// maxFailed bounds the remembered failures: a stream of random ids must
// not grow the cache without end.
const maxFailed = 1024

func newSchemas(r Registry) (*schemas, error) {
	opts := []sr.ClientOpt{sr.URLs(r.URL)}
	if r.Username != "" {
		opts = append(opts, sr.BasicAuth(r.Username, r.Password))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("input.schema_registry: %w", err)
	}
	t := r.Timeout
	if t <= 0 {
		t = 5 * time.Second
	}
	return &schemas{cl: cl, timeout: t, byID: map[int]*schemaEntry{}}, nil
}

// registryFault reports whether err came from the registry's side (a
// timeout, a refused connection, a 5xx) rather than from what it answered.
func registryFault(err error) bool {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode >= 500
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, new(*url.Error))
}

func schemaUnknown(format string, args ...any) error {
	return &contract.DecodeError{Code: contract.ReasonSchemaUnknown, Detail: fmt.Sprintf(format, args...)}
}

func (s *schemas) lookup(id int) *schemaEntry {
	s.mu.Lock()
	e := s.byID[id]
	if e != nil {
		select {
		case <-e.ready:
			if e.err == nil || time.Now().Before(e.expires) {
				s.mu.Unlock()
				return e
			}
		default: // being looked up: wait for it
			s.mu.Unlock()
			<-e.ready
			return e
		}
		s.failed--
	}
	e = &schemaEntry{ready: make(chan struct{})}
	s.byID[id] = e
	s.mu.Unlock()

	s.fill(e, id)
	s.mu.Lock()
	if e.err != nil {
		s.failed++
		if s.failed > maxFailed {
			// Forget half of them, whichever: they are asked again sooner.
			for k, x := range s.byID {
				if s.failed <= maxFailed/2 {
					break
				}
				if x != e && x.err != nil && isReady(x) {
					delete(s.byID, k)
					s.failed--
				}
			}
		}
	}
	s.mu.Unlock()
	close(e.ready)
	return e
}

func isReady(e *schemaEntry) bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

// call asks the registry, each try under its own timeout. A registry that
// blinks (a 5xx, a dropped connection, a timeout) is asked again, briefly,
// before the record is given up on; an answer about the schema itself (a
// 404) is not.
func call[T any](s *schemas, fn func(ctx context.Context) (T, error)) (T, error) {
	for try := 0; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		v, err := fn(ctx)
		cancel()
		if err == nil || !registryFault(err) || try == 2 {
			return v, err
		}
		time.Sleep(time.Duration(100<<try) * time.Millisecond)
	}
}

// fill looks id up in the registry, with the schemas it references.
func (s *schemas) fill(e *schemaEntry, id int) {
	e.expires = time.Now().Add(time.Minute)
	sc, err := call(s, func(ctx context.Context) (sr.Schema, error) { return s.cl.SchemaByID(ctx, id) })
	var re *sr.ResponseError
	switch {
	case errors.As(err, &re) && re.StatusCode == 404:
		e.err = schemaUnknown("schema id %d is not in the registry", id)
		return
	case err != nil:
		// Not the id's fault: remembered for seconds, not a minute.
		e.err = schemaUnknown("schema id %d: the registry did not answer: %v", id, err)
		e.expires = time.Now().Add(5 * time.Second)
		return
	}
	e.typ = sc.Type
	switch sc.Type {
	case sr.TypeAvro:
		e.avro, err = s.parseAvro(sc)
	case sr.TypeProtobuf:
		e.proto, err = s.compileProto(sc)
	case sr.TypeJSON:
	default:
		e.err = schemaUnknown("schema id %d is %s; this build reads Avro, Protobuf and JSON Schema values", id, sc.Type)
		return
	}
	switch {
	case err != nil && registryFault(err):
		// A reference the registry failed to hand out is not the
		// schema's fault either.
		e.err = schemaUnknown("schema id %d: the registry did not answer for a reference: %v", id, err)
		e.expires = time.Now().Add(5 * time.Second)
	case err != nil:
		e.err = schemaUnknown("schema id %d: not a %s schema this build reads: %v", id, sc.Type, err)
	}
}

// toJSON turns a framed value into JSON for the mapping (or the envelope).
func (s *schemas) toJSON(value []byte) ([]byte, error) {
	var h sr.ConfluentHeader
	id, rest, err := h.DecodeID(value)
	if err != nil {
		return nil, schemaUnknown("not a schema-registry frame: %v", err)
	}
	e := s.lookup(id)
	if e.err != nil {
		return nil, e.err
	}
	switch e.typ {
	case sr.TypeProtobuf:
		// After the id, Confluent's frame names the message by its index
		// path in the file (0: the first message).
		idx, body, err := h.DecodeIndex(rest, 16)
		if err != nil {
			return nil, &contract.DecodeError{Code: contract.ReasonInvalidJSON, Detail: fmt.Sprintf("Protobuf frame of schema %d: %v", id, err)}
		}
		md, err := protoMessage(e.proto, idx)
		if err != nil {
			return nil, schemaUnknown("schema id %d: %v", id, err)
		}
		msg := dynamicpb.NewMessage(md)
		if err := proto.Unmarshal(body, msg); err != nil {
			return nil, &contract.DecodeError{Code: contract.ReasonInvalidJSON, Detail: fmt.Sprintf("value does not decode as %s (schema %d): %v", md.FullName(), id, err)}
		}
		b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(msg)
		if err != nil {
			return nil, &contract.DecodeError{Code: contract.ReasonInvalidJSON, Detail: fmt.Sprintf("Protobuf value of schema %d: %v", id, err)}
		}
		return b, nil
	case sr.TypeAvro:
		var v any
		if err := avro.Unmarshal(e.avro, rest, &v); err != nil {
			return nil, &contract.DecodeError{Code: contract.ReasonInvalidJSON, Detail: fmt.Sprintf("value does not decode with Avro schema %d: %v", id, err)}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, &contract.DecodeError{Code: contract.ReasonInvalidJSON, Detail: fmt.Sprintf("Avro value of schema %d: %v", id, err)}
		}
		return b, nil
	default: // JSON Schema: the value is JSON
		return rest, nil
	}
}

// moderationField is the field an Avro schema must have for enrich output:
// the verdict goes in it as a JSON string.
const moderationField = "moderation"

// hasModeration reports whether an Avro record schema has a moderation
// field that holds a string (or a null-or-string union).
func hasModeration(s avro.Schema) bool {
	rs, ok := s.(*avro.RecordSchema)
	if !ok {
		return false
	}
	for _, f := range rs.Fields() {
		if f.Name() != moderationField {
			continue
		}
		switch t := f.Type().(type) {
		case *avro.PrimitiveSchema:
			return t.Type() == avro.String
		case *avro.UnionSchema:
			for _, u := range t.Types() {
				if p, ok := u.(*avro.PrimitiveSchema); ok && p.Type() == avro.String {
					return true
				}
			}
		}
	}
	return false
}

// enrich writes a framed value back with the verdict added, in the value's
// own format and schema id: Avro and Protobuf with the verdict as their
// moderation string, JSON Schema values as JSON with a moderation object.
func (s *schemas) enrich(value, verdict []byte) ([]byte, error) {
	var h sr.ConfluentHeader
	id, rest, err := h.DecodeID(value)
	if err != nil {
		return nil, err
	}
	e := s.lookup(id)
	if e.err != nil {
		return nil, e.err
	}
	head := value[:len(value)-len(rest)]
	switch e.typ {
	case sr.TypeProtobuf:
		idx, body, err := h.DecodeIndex(rest, 16)
		if err != nil {
			return nil, fmt.Errorf("enrich: Protobuf frame of schema %d: %w", id, err)
		}
		md, err := protoMessage(e.proto, idx)
		if err != nil {
			return nil, fmt.Errorf("enrich: schema %d: %w", id, err)
		}
		fd := protoModeration(md)
		if fd == nil {
			return nil, fmt.Errorf("enrich: Protobuf message %s (schema %d) has no %q string field", md.FullName(), id, moderationField)
		}
		msg := dynamicpb.NewMessage(md)
		if err := proto.Unmarshal(body, msg); err != nil {
			return nil, fmt.Errorf("enrich: value does not decode as %s (schema %d): %w", md.FullName(), id, err)
		}
		msg.Set(fd, protoreflect.ValueOfString(string(verdict)))
		// The frame (magic byte, id, message indexes) is kept as it came;
		// unknown fields of a newer writer survive the round trip.
		out := append([]byte(nil), value[:len(value)-len(body)]...)
		return proto.MarshalOptions{Deterministic: true}.MarshalAppend(out, msg)
	case sr.TypeAvro:
		if !hasModeration(e.avro) {
			return nil, fmt.Errorf("enrich: Avro schema %d has no %q string field", id, moderationField)
		}
		var v map[string]any
		if err := avro.Unmarshal(e.avro, rest, &v); err != nil {
			return nil, fmt.Errorf("enrich: %w", err)
		}
		str := string(verdict)
		v[moderationField] = &str
		if p, ok := fieldIsPlainString(e.avro); ok && p {
			v[moderationField] = str
		}
		body, err := avro.Marshal(e.avro, v)
		if err != nil {
			return nil, fmt.Errorf("enrich: %w", err)
		}
		return append(append([]byte(nil), head...), body...), nil
	default:
		out, err := pipeline.SetModeration(rest, verdict)
		if err != nil {
			return nil, fmt.Errorf("enrich: %w", err)
		}
		return append(append([]byte(nil), head...), out...), nil
	}
}

// fieldIsPlainString reports whether the moderation field is a plain
// string (not a union), which hamba wants as a string, not a pointer.
func fieldIsPlainString(s avro.Schema) (bool, bool) {
	rs, ok := s.(*avro.RecordSchema)
	if !ok {
		return false, false
	}
	for _, f := range rs.Fields() {
		if f.Name() == moderationField {
			_, plain := f.Type().(*avro.PrimitiveSchema)
			return plain, true
		}
	}
	return false, false
}

// checkEnrich asks the registry, at start, for the latest value schema of
// each topic (subject TOPIC-value): an Avro one without a moderation string
// field, or a Protobuf one with no message that has one, cannot be
// enriched, and is refused with its subject.
func (s *schemas) checkEnrich(ctx context.Context, topics []string) error {
	for _, t := range topics {
		subject := t + "-value"
		ss, err := s.cl.SchemaByVersion(ctx, subject, -1)
		var re *sr.ResponseError
		if errors.As(err, &re) && re.StatusCode == 404 {
			continue // no schema: a JSON topic
		}
		if err != nil {
			return fmt.Errorf("output.mode enrich: subject %s: %w", subject, err)
		}
		switch ss.Type {
		case sr.TypeProtobuf:
			fd, err := s.compileProto(ss.Schema)
			if err != nil {
				return fmt.Errorf("output.mode enrich: subject %s: %w", subject, err)
			}
			if !anyProtoModeration(fd) {
				return fmt.Errorf("output.mode enrich: topic %s's Protobuf schema (subject %s, version %d) has no message with a %q string field to put the verdict in: add one, or use output.mode headers", t, subject, ss.Version, moderationField)
			}
		case sr.TypeAvro:
			sc, err := s.parseAvro(ss.Schema)
			if err != nil {
				return fmt.Errorf("output.mode enrich: subject %s: %w", subject, err)
			}
			if !hasModeration(sc) {
				return fmt.Errorf("output.mode enrich: topic %s's Avro schema (subject %s, version %d) has no %q string field to put the verdict in: add one, or use output.mode headers", t, subject, ss.Version, moderationField)
			}
		}
	}
	return nil
}

// maxReferences bounds the schemas one schema may pull in through
// references, so that a cycle or a runaway chain in the registry is an
// error and not a hang.
const maxReferences = 64

// reference is a schema another one imports: its source under the name
// the importer uses (a .proto file name, or an Avro full name).
type reference struct{ name, source string }

// references reads, from the registry, the schemas refs name, and theirs,
// depth first: every reference comes before the schemas that import it.
func (s *schemas) references(refs []sr.SchemaReference, seen map[string]bool, out []reference) ([]reference, error) {
	for _, r := range refs {
		if seen[r.Name] {
			continue
		}
		seen[r.Name] = true
		if len(seen) > maxReferences {
			return nil, fmt.Errorf("more than %d schema references", maxReferences)
		}
		ss, err := call(s, func(ctx context.Context) (sr.SubjectSchema, error) {
			return s.cl.SchemaByVersion(ctx, r.Subject, r.Version)
		})
		if err != nil {
			return nil, fmt.Errorf("reference %q (subject %s, version %d): %w", r.Name, r.Subject, r.Version, err)
		}
		if out, err = s.references(ss.References, seen, out); err != nil {
			return nil, err
		}
		out = append(out, reference{name: r.Name, source: ss.Schema.Schema})
	}
	return out, nil
}

// parseAvro parses an Avro schema after the named types it references,
// in a cache of its own: two versions of one record name in the registry
// must not see each other's fields.
func (s *schemas) parseAvro(sc sr.Schema) (avro.Schema, error) {
	refs, err := s.references(sc.References, map[string]bool{}, nil)
	if err != nil {
		return nil, err
	}
	cache := &avro.SchemaCache{}
	for _, r := range refs {
		if _, err := avro.ParseWithCache(r.source, "", cache); err != nil {
			return nil, fmt.Errorf("reference %q: %w", r.name, err)
		}
	}
	return avro.ParseWithCache(sc.Schema, "", cache)
}

// compileProto compiles a registry's .proto source with the files it
// imports through references (and the well-known types) into its file
// descriptor.
func (s *schemas) compileProto(sc sr.Schema) (protoreflect.FileDescriptor, error) {
	refs, err := s.references(sc.References, map[string]bool{}, nil)
	if err != nil {
		return nil, err
	}
	const name = "sieve-registry-schema.proto"
	files := map[string]string{name: sc.Schema}
	for _, r := range refs {
		files[r.name] = r.source
	}
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(files)})}
	fds, err := c.Compile(context.Background(), name)
	if err != nil {
		return nil, err
	}
	return fds[0], nil
}

// protoModeration is md's moderation field when it holds one string, the
// place enrich output puts the verdict's JSON. A field in a oneof is not:
// setting it would clear whichever member the writer set.
func protoModeration(md protoreflect.MessageDescriptor) protoreflect.FieldDescriptor {
	fd := md.Fields().ByName(moderationField)
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.Cardinality() == protoreflect.Repeated {
		return nil
	}
	if o := fd.ContainingOneof(); o != nil && !o.IsSynthetic() {
		return nil
	}
	return fd
}

// anyProtoModeration reports whether a message of the file (nested ones
// included, as a frame's index path may name them) can be enriched: the
// message a record names is checked again as it comes.
func anyProtoModeration(fd protoreflect.FileDescriptor) bool {
	var walk func(ms protoreflect.MessageDescriptors) bool
	walk = func(ms protoreflect.MessageDescriptors) bool {
		for i := range ms.Len() {
			if protoModeration(ms.Get(i)) != nil || walk(ms.Get(i).Messages()) {
				return true
			}
		}
		return false
	}
	return walk(fd.Messages())
}

// protoMessage resolves Confluent's message index path: the first index
// picks a top-level message, the next ones nested messages.
func protoMessage(fd protoreflect.FileDescriptor, idx []int) (protoreflect.MessageDescriptor, error) {
	if len(idx) == 0 {
		idx = []int{0}
	}
	msgs := fd.Messages()
	var md protoreflect.MessageDescriptor
	for _, i := range idx {
		if i < 0 || i >= msgs.Len() {
			return nil, fmt.Errorf("message index %v is not in the schema", idx)
		}
		md = msgs.Get(i)
		msgs = md.Messages()
	}
	return md, nil
}
