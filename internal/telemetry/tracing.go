package telemetry

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Tracing is the tracing section of sieve.yaml: OpenTelemetry traces of
// every record from consume to produce, and of every proxy request. Off
// unless an exporter is named.
type Tracing struct {
	// Exporter is otlp-grpc or otlp-http; empty turns tracing off.
	Exporter string `yaml:"exporter"`
	// Endpoint is the collector's host:port (otlp-grpc, default
	// localhost:4317) or URL (otlp-http, default
	// http://localhost:4318/v1/traces).
	Endpoint string `yaml:"endpoint"`
	// Insecure sends without TLS (a collector on the same host).
	Insecure bool `yaml:"insecure"`
	// SampleRatio is the share of traces kept when the input carries no
	// sampling decision of its own (default 1: all).
	SampleRatio float64 `yaml:"sample_ratio"`
	// ServiceName names Sieve in the traces (default sieve).
	ServiceName string `yaml:"service_name"`
	// ClientSpans adds the Kafka client's own spans (franz-go's kotel
	// hooks): a receive span per fetched record, the parent of the record
	// span, timing its wait in the client's buffer; and a publish span per
	// output, a child of the record span, named in the output's
	// traceparent. Off by default: they repeat the two ends of the record
	// span, and cost more than the rest of tracing together (docs/topics.md).
	ClientSpans bool `yaml:"client_spans"`
	// NoClientSpans is the switch of an earlier build, whose client spans
	// were on by default: true keeps them off, whatever client_spans says.
	// Deprecated: they are off unless client_spans is set.
	NoClientSpans bool `yaml:"no_client_spans"`
}

// KafkaClientSpans reports whether the Kafka client's own spans are on.
func (t Tracing) KafkaClientSpans() bool { return t.ClientSpans && !t.NoClientSpans }

// Validate names the first bad field.
func (t Tracing) Validate() error {
	switch t.Exporter {
	case "", "otlp-grpc", "otlp-http":
	default:
		return fmt.Errorf("tracing.exporter: %q is not otlp-grpc or otlp-http", t.Exporter)
	}
	if t.SampleRatio < 0 || t.SampleRatio > 1 {
		return fmt.Errorf("tracing.sample_ratio: %v is not in [0, 1]", t.SampleRatio)
	}
	return nil
}

// Propagator reads and writes W3C trace context (traceparent, tracestate).
var Propagator = propagation.TraceContext{}

// NewTracerProvider builds the provider the config asks for; with no
// exporter it is a no-op provider and shutdown does nothing. The caller
// shuts it down, which flushes the spans not yet exported.
func NewTracerProvider(ctx context.Context, t Tracing) (trace.TracerProvider, func(context.Context) error, error) {
	if t.Exporter == "" {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	var exp sdktrace.SpanExporter
	var err error
	switch t.Exporter {
	case "otlp-grpc":
		opts := []otlptracegrpc.Option{}
		if t.Endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpoint(t.Endpoint))
		}
		if t.Insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		exp, err = otlptracegrpc.New(ctx, opts...)
	case "otlp-http":
		opts := []otlptracehttp.Option{}
		if t.Endpoint != "" {
			opts = append(opts, otlptracehttp.WithEndpointURL(t.Endpoint))
		}
		if t.Insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	default:
		return nil, nil, errors.New("tracing.exporter: " + t.Exporter + " is not otlp-grpc or otlp-http")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	return NewSDKProvider(t, exp)
}

// NewSDKProvider builds a provider over an exporter (the OTLP one, or a
// test's in-memory one), batching spans.
func NewSDKProvider(t Tracing, exp sdktrace.SpanExporter, opts ...sdktrace.TracerProviderOption) (trace.TracerProvider, func(context.Context) error, error) {
	ratio := t.SampleRatio
	if ratio == 0 {
		ratio = 1
	}
	name := t.ServiceName
	if name == "" {
		name = "sieve"
	}
	res := resource.NewSchemaless(semconv.ServiceName(name))
	all := append([]sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp), sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)))}, opts...)
	tp := sdktrace.NewTracerProvider(all...)
	return tp, tp.Shutdown, nil
}
