// Package docgen writes the reference pages that follow from the code:
// docs/config.md (every field of sieve.yaml with its default and its doc
// comment, the classifier types and the rail scanners from their
// registries), sieve.example.yaml (every section, defaults filled in) and
// docs/metrics.md (every collector the packages register). `go generate
// ./...` runs it; a test fails when the checked-in files drift.
package docgen

//go:generate go run ./cmd -root ../..

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/sieve-stream/sieve/aggregate"
	"github.com/sieve-stream/sieve/cache"
	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/connectors/kafka"
	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/generator"
	"github.com/sieve-stream/sieve/guardrails"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/proxy"
	"github.com/sieve-stream/sieve/review"
	"github.com/sieve-stream/sieve/service"
	"github.com/sieve-stream/sieve/shadow"
	"github.com/sieve-stream/sieve/signals"
)

const module = "github.com/sieve-stream/sieve"

// Files returns the generated files by their path from the repository
// root.
func Files(root string) (map[string][]byte, error) {
	docs, err := fieldDocs(root)
	if err != nil {
		return nil, err
	}
	example, err := exampleYAML(docs)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		"docs/config.md":     configMD(docs),
		"sieve.example.yaml": example,
		"docs/metrics.md":    metricsMD(),
	}, nil
}

// docs maps "importpath.Type.Field" to the field's comment.
type docs map[string]string

func (d docs) of(owner reflect.Type, f reflect.StructField) string {
	return d[owner.PkgPath()+"."+owner.Name()+"."+f.Name]
}

// fieldDocs reads the doc and line comments of every struct field in the
// module's non-test sources.
func fieldDocs(root string) (docs, error) {
	out := docs{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := module
		if rel != "." {
			pkg += "/" + filepath.ToSlash(rel)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			// A comment over several fields ("Window and Stride: ...")
			// documents the next ones it names.
			var shared string
			for _, fl := range st.Fields.List {
				text := strings.TrimSpace(fl.Doc.Text())
				if text != "" {
					shared = text
				}
				if c := strings.TrimSpace(fl.Comment.Text()); c != "" {
					text = strings.TrimSpace(text + " " + c)
				} else if text == "" && len(fl.Names) > 0 && names(shared, fl.Names[0].Name) {
					text = shared
				}
				for _, name := range fl.Names {
					out[pkg+"."+ts.Name.Name+"."+name.Name] = strings.Join(strings.Fields(text), " ")
				}
			}
			return true
		})
		return nil
	})
	return out, err
}

// names reports whether doc names the field as a word.
func names(doc, field string) bool {
	return regexp.MustCompile(`\b` + regexp.QuoteMeta(field) + `\b`).MatchString(doc)
}

// row is one field of the reference.
type row struct {
	path, typ, def, doc string
}

var durationType = reflect.TypeOf(time.Duration(0))

// walk lists the fields of struct value v (its type t) under prefix.
func walk(d docs, t reflect.Type, v reflect.Value, prefix string, rows *[]row) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		if v.IsValid() && !v.IsNil() {
			v = v.Elem()
		} else {
			v = reflect.Value{}
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		var fv reflect.Value
		if v.IsValid() {
			fv = v.Field(i)
		}
		if strings.Contains(opts, "inline") {
			walk(d, f.Type, fv, prefix, rows)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		path := prefix + name
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		doc := d.of(t, f)
		switch {
		case ft == reflect.TypeOf(classifiers.Config{}) || (ft.Kind() == reflect.Slice && ft.Elem() == reflect.TypeOf(classifiers.Config{})):
			*rows = append(*rows, row{path, typeName(f.Type), value(fv), doc + " See [classifier types](#classifier-types)."})
		case ft.Kind() == reflect.Struct && ft != durationType && ft.PkgPath() != "time":
			if doc != "" {
				*rows = append(*rows, row{path, "", "", doc})
			}
			walk(d, f.Type, fv, path+".", rows)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			*rows = append(*rows, row{path, typeName(f.Type), value(fv), doc})
			walk(d, ft.Elem(), reflect.Value{}, path+"[].", rows)
		default:
			*rows = append(*rows, row{path, typeName(f.Type), value(fv), doc})
		}
	}
}

func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Pointer:
		return typeName(t.Elem())
	case t.Kind() == reflect.Slice:
		return "list of " + typeName(t.Elem())
	case t.Kind() == reflect.Map:
		return "map of " + typeName(t.Elem())
	case t.Kind() == reflect.Struct:
		return "object"
	case t.Kind() == reflect.Float64 || t.Kind() == reflect.Float32:
		return "number"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "integer"
	}
	return t.Kind().String()
}

// value is a default as sieve.yaml would write it; "" for none.
func value(v reflect.Value) string {
	if !v.IsValid() {
		return ""
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Type() == durationType {
		if v.Int() == 0 {
			return ""
		}
		return durationString(time.Duration(v.Int()))
	}
	if v.IsZero() {
		return ""
	}
	n := &yaml.Node{}
	if err := n.Encode(v.Interface()); err != nil {
		return ""
	}
	fixDurations(n, v.Type())
	n.Style = yaml.FlowStyle
	for _, c := range n.Content {
		c.Style |= yaml.FlowStyle
	}
	b, err := yaml.Marshal(n)
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// durationString is d as sieve.yaml writes it: "5s", "100ms", "10m".
func durationString(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// fixDurations rewrites the nanosecond integers yaml.v3 writes for
// time.Duration fields as the durations sieve.yaml reads.
func fixDurations(n *yaml.Node, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType && n.Kind == yaml.ScalarNode:
		if ns, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			n.Value, n.Tag = durationString(time.Duration(ns)), "!!str"
		}
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if f, ok := fieldByKey(t, n.Content[i].Value); ok {
				fixDurations(n.Content[i+1], f.Type)
			}
		}
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			fixDurations(c, t.Elem())
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			fixDurations(n.Content[i], t.Elem())
		}
	}
}

// fieldByKey finds the field of struct t that yaml key k decodes into.
func fieldByKey(t reflect.Type, k string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			if g, ok := fieldByKey(f.Type, k); ok {
				return g, true
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == k && f.IsExported() {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func table(b *bytes.Buffer, rows []row) {
	b.WriteString("| field | type | default | |\n|---|---|---|---|\n")
	for _, r := range rows {
		def := r.def
		if def != "" {
			def = "`" + strings.ReplaceAll(def, "|", `\|`) + "`"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", r.path, r.typ, def, strings.ReplaceAll(r.doc, "|", `\|`))
	}
}

func configMD(d docs) []byte {
	var b bytes.Buffer
	b.WriteString("# Configuration reference\n\n")
	b.WriteString("Generated by `go generate ./internal/docgen` from the config structs, their doc comments and\n")
	b.WriteString("the component registries; do not edit by hand. `sieve.example.yaml` holds the same\n")
	b.WriteString("fields with their defaults. A wrong field is refused with its path and the file's name.\n\n")
	c := &config.Config{}
	c.EnsureDefaults()
	t := reflect.TypeOf(*c)
	v := reflect.ValueOf(c).Elem()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n", name)
		if doc := d.of(t, f); doc != "" {
			b.WriteString(doc + "\n\n")
		}
		var rows []row
		ft := f.Type
		if ft.Kind() == reflect.Struct && ft != durationType {
			walk(d, ft, v.Field(i), name+".", &rows)
		} else {
			walk(d, reflect.StructOf([]reflect.StructField{{Name: f.Name, Type: f.Type, Tag: f.Tag}}),
				reflect.Value{}, "", &rows)
			if len(rows) > 0 {
				rows[0].def, rows[0].doc = value(v.Field(i)), strings.TrimSpace(d.of(t, f)+" "+rows[0].doc)
				if f.Type.Kind() == reflect.Slice && f.Type.Elem() == reflect.TypeOf(classifiers.Config{}) {
					rows[0].def = "moderation, spam and injection (linear, built in)"
				}
			}
		}
		table(&b, rows)
		b.WriteString("\n")
	}

	b.WriteString("## Classifier types\n\n")
	b.WriteString("Each entry of `classifiers` has a `type`, the fields every type shares, and the fields of its\n")
	b.WriteString("type. Types register themselves (`classifiers.RegisterType`); see [contributing](contributing.md).\n\n")
	var rows []row
	walk(d, reflect.TypeOf(classifiers.Config{}), reflect.Value{}, "", &rows)
	table(&b, rows)
	b.WriteString("\n")
	for _, ty := range classifiers.Types() {
		fmt.Fprintf(&b, "### %s\n\n%s.\n\n", ty.Name, upperFirst(ty.Summary))
		spec := ty.Config()
		spec.EnsureDefaults()
		var rows []row
		walk(d, reflect.TypeOf(spec), reflect.ValueOf(spec), "", &rows)
		if len(rows) == 0 {
			b.WriteString("No fields of its own.\n\n")
			continue
		}
		table(&b, rows)
		b.WriteString("\n")
	}

	b.WriteString("## Rails policy (`guardrails.policy`, `sieve proxy`)\n\n")
	b.WriteString("A rails policy is a file of its own (`deploy/proxy/rails.yaml` is one): input and output\n")
	b.WriteString("rails, each a list of checks, and overrides per tenant or channel.\n\n")
	rows = nil
	walk(d, reflect.TypeOf(guardrails.Policy{}), reflect.Value{}, "", &rows)
	table(&b, rows)
	b.WriteString("\n### Scanners\n\n| scanner | parameters | finds |\n|---|---|---|\n")
	for _, s := range guardrails.ScannerTypes() {
		params := make([]string, len(s.Params))
		for i, p := range s.Params {
			params[i] = "`" + p + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.Name, strings.Join(params, ", "), s.Summary)
	}
	b.WriteString("\n## Stores (`cache.store`, `signals.store`)\n\n| store | what it is |\n|---|---|\n")
	for _, k := range service.StoreKinds() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", k.Name, k.Summary)
	}
	b.WriteString("\n## Rewriters (`rewrite.generator`)\n\n| generator | what it does |\n|---|---|\n")
	for _, k := range generator.Kinds() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", k.Name, k.Summary)
	}
	return b.Bytes()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// exampleYAML is the defaulted config with each field's doc as a comment.
func exampleYAML(d docs) ([]byte, error) {
	c := &config.Config{}
	c.EnsureDefaults()
	n := &yaml.Node{}
	if err := n.Encode(c); err != nil {
		return nil, err
	}
	fixDurations(n, reflect.TypeOf(*c))
	comment(d, n, reflect.TypeOf(*c), 0)
	var b bytes.Buffer
	b.WriteString("# sieve.yaml: every section and field with its default.\n")
	b.WriteString("# Generated by `go generate ./internal/docgen`; docs/config.md says what each field does.\n")
	b.WriteString("# Run with: sieve run -c sieve.yaml\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// wrap breaks s into lines of at most width characters.
func wrap(s string, width int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return strings.Join(append(lines, line), "\n")
}

// comment puts each field's doc above its key, for the top two levels
// (deeper ones are in docs/config.md).
func comment(d docs, n *yaml.Node, t reflect.Type, depth int) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct || depth > 1 {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		f, ok := fieldByKey(t, k.Value)
		if !ok {
			continue
		}
		owner := t
		if doc := d.of(owner, f); doc != "" {
			k.HeadComment = wrap(doc, 88)
		}
		if depth == 0 && i > 0 {
			k.HeadComment = "\n" + k.HeadComment
		}
		comment(d, n.Content[i+1], f.Type, depth+1)
	}
}

// recorder is a Registerer that keeps what is registered, in order.
type recorder struct {
	owner string
	got   *[]collected
}

type collected struct {
	owner string
	c     prometheus.Collector
}

func (r recorder) Register(c prometheus.Collector) error {
	*r.got = append(*r.got, collected{r.owner, c})
	return nil
}
func (r recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}
func (recorder) Unregister(prometheus.Collector) bool { return true }

var descRe = regexp.MustCompile(`fqName: "([^"]*)", help: "((?:[^"\\]|\\.)*)",(?: unit: "[^"]*",)? constLabels: \{[^}]*\}, variableLabels: \{([^}]*)\}`)

func metricsMD() []byte {
	var got []collected
	rec := func(owner string) prometheus.Registerer { return recorder{owner, &got} }
	pipeline.NewMetrics(rec("the engine (`pipeline`)"))
	kafka.NewMetrics(rec("the Kafka connector"))
	cache.NewMetrics(rec("the verdict cache"))
	redis.Watch(rec("Redis"), nil, nil)
	signals.New(signals.Options{Registry: rec("campaign signals")})
	aggregate.New(aggregate.Config{}, aggregate.Options{Registry: rec("aggregates (with `aggregates.windows`)")})
	proxy.NewMetrics(rec("the proxy (`sieve proxy`)"))
	shadow.NewMetrics(rec("shadow classifiers (`shadow: true`)"))
	review.NewServer(review.Config{}, review.Options{Queue: review.NewQueue(review.NewMemoryLeaser(), time.Minute),
		Registry: rec("the review console (`sieve review`)")})

	var b bytes.Buffer
	b.WriteString("# Metrics reference\n\n")
	b.WriteString("Generated by `go generate ./internal/docgen` from the collectors each package registers; do not\n")
	b.WriteString("edit by hand. Served at `http.addr` `/metrics` (by `sieve run` and `sieve proxy`), with Go and process\n")
	b.WriteString("collectors beside them. Series that exist before their first event (decisions, dead-letter\n")
	b.WriteString("reasons, transaction outcomes) start at 0, so rate() and alerts see them.\n")
	last := ""
	for _, c := range got {
		if c.owner != last {
			fmt.Fprintf(&b, "\n## %s\n\n| metric | type | labels | |\n|---|---|---|---|\n", upperFirst(c.owner))
			last = c.owner
		}
		kind := kindOf(c.c)
		ch := make(chan *prometheus.Desc, 16)
		go func() { c.c.Describe(ch); close(ch) }()
		for desc := range ch {
			m := descRe.FindStringSubmatch(desc.String())
			if m == nil {
				continue
			}
			labels := strings.ReplaceAll(m[3], ",", ", ")
			help := strings.ReplaceAll(m[2], `\"`, `"`)
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", m[1], kind, labels, strings.ReplaceAll(help, "|", `\|`))
		}
	}
	return b.Bytes()
}

func kindOf(c prometheus.Collector) string {
	switch c.(type) {
	case prometheus.Histogram, *prometheus.HistogramVec:
		return "histogram"
	case prometheus.Gauge, *prometheus.GaugeVec: // before Counter: a Gauge has Inc and Add too
		return "gauge"
	case prometheus.Counter, *prometheus.CounterVec:
		return "counter"
	}
	return "summary"
}

// Write writes the files under root.
func Write(root string, files map[string][]byte) error {
	for p, b := range files {
		if err := os.WriteFile(filepath.Join(root, p), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
