// Package tracing turns on OpenTelemetry tracing when, and only when, the
// standard OTEL_* environment variables ask for it. Spans leave over OTLP/HTTP;
// with no endpoint configured nothing is installed and the global no-op
// provider keeps the middleware close to free.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// defaultServiceName applies unless OTEL_SERVICE_NAME or a service.name in
// OTEL_RESOURCE_ATTRIBUTES says otherwise.
const defaultServiceName = "secureapi"

// Setup returns a shutdown func. Tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT
// or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and OTEL_SDK_DISABLED is not
// "true", OTEL_TRACES_EXPORTER is not "none"); otherwise it installs nothing
// and returns a no-op shutdown with enabled=false.
//
// lookup (os.LookupEnv in production) only decides whether tracing is on. The
// exporter, batch processor, sampler and resource are configured from the
// process environment, so every OTEL_* variable keeps its documented meaning:
// the SDK reads OTEL_BSP_*, OTEL_TRACES_SAMPLER, OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES, and the OTLP/HTTP client in otlphttp.go reads
// OTEL_EXPORTER_OTLP[_TRACES]_ENDPOINT, _HEADERS, _TIMEOUT, _COMPRESSION,
// _CERTIFICATE, _CLIENT_CERTIFICATE and _CLIENT_KEY. A value the client cannot
// use is an error here rather than a failure at the first export.
//
// When enabled, the global TracerProvider and the W3C trace-context + baggage
// propagator are installed. Shutdown flushes buffered spans; call it once, with
// a deadline, after the HTTP server has stopped.
func Setup(ctx context.Context, lookup func(string) (string, bool)) (shutdown func(context.Context) error, enabled bool, err error) {
	noop := func(context.Context) error { return nil }
	on, err := wanted(lookup)
	if err != nil || !on {
		return noop, false, err
	}

	// Later options win: the environment overrides the default service name.
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(defaultServiceName)),
		resource.WithFromEnv(),
	)
	if err != nil {
		return noop, false, fmt.Errorf("tracing: resource from environment: %w", err)
	}
	client, err := newOTLPHTTPClient(os.LookupEnv)
	if err != nil {
		return noop, false, fmt.Errorf("tracing: OTLP/HTTP exporter: %w", err)
	}
	exp, err := otlptrace.New(ctx, client)
	if err != nil {
		return noop, false, fmt.Errorf("tracing: OTLP/HTTP exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{},
	))
	return tp.Shutdown, true, nil
}

// wanted applies the OpenTelemetry rule that an empty variable counts as
// unset. A protocol this exporter cannot speak is refused rather than left to
// fail silently at the first export.
func wanted(lookup func(string) (string, bool)) (bool, error) {
	get := func(key string) string {
		v, _ := lookup(key)
		return strings.TrimSpace(v)
	}
	if strings.EqualFold(get("OTEL_SDK_DISABLED"), "true") {
		return false, nil
	}
	if strings.EqualFold(get("OTEL_TRACES_EXPORTER"), "none") {
		return false, nil
	}
	if get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" && get("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		return false, nil
	}
	protocol := get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = get("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if protocol != "" && protocol != "http/protobuf" {
		return false, errors.New("tracing: OTLP protocol " + protocol + " is not supported, use http/protobuf")
	}
	return true, nil
}
