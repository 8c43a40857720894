package ledgerd

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TracingConfig turns on OpenTelemetry tracing of every gRPC call and of
// the database statements it makes, exported over OTLP/gRPC. Tracing is
// off, and costs nothing, unless Endpoint (or Provider) is set.
type TracingConfig struct {
	// Endpoint is the OTLP/gRPC collector: host:port, or a URL
	// (http://host:4317 sends without TLS). Empty turns tracing off.
	Endpoint string
	// Insecure sends spans without TLS: to a collector on this host or in
	// the same pod. Otherwise the system's CAs verify the collector.
	Insecure bool
	// SampleRatio is the share of calls traced when the caller did not say
	// (a caller's sampled trace context is always followed); 1 by default.
	SampleRatio float64
	// Provider, when set, is used instead of an OTLP exporter: tests record
	// spans in memory with it.
	Provider trace.TracerProvider
}

// startTracing returns the tracer provider the server and the pools use,
// nil when tracing is off, and how to flush and stop it.
func startTracing(ctx context.Context, c TracingConfig) (trace.TracerProvider, func(context.Context) error, error) {
	none := func(context.Context) error { return nil }
	if c.Provider != nil {
		return c.Provider, none, nil
	}
	if c.Endpoint == "" {
		return nil, none, nil
	}
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(c.Endpoint)}
	if strings.Contains(c.Endpoint, "://") {
		opts = []otlptracegrpc.Option{otlptracegrpc.WithEndpointURL(c.Endpoint)}
	}
	if c.Insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	exporter, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, none, fmt.Errorf("tracing: %w", err)
	}
	host, _ := os.Hostname()
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName("ledgerd"), semconv.HostName(host), semconv.ProcessPID(os.Getpid())))
	if err != nil {
		return nil, none, fmt.Errorf("tracing: %w", err)
	}
	ratio := c.SampleRatio
	if ratio <= 0 || ratio > 1 {
		ratio = 1
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))))
	return tp, tp.Shutdown, nil
}
