package tracing

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

const instrumentationName = "secureapi/internal/platform/tracing"

// Middleware starts a server span per request named "<METHOD> <route template>"
// and continues the caller's trace from the traceparent/baggage headers. It
// records only http.request.method, http.route and http.response.status_code
// (plus error.type and an error status for 5xx): never the raw path, query
// string, headers, cookies, bodies or tokens, which routinely carry secrets.
//
// Install it with e.Use, ideally first, so that c.Path() is the matched route
// and the span covers every other middleware. The span context is put on the
// request context, so handlers can start child spans and loggers can read the
// trace id.
//
// An error returned by the inner chain is handed to c.Error here, so that the
// recorded status is the one the client received; the middleware then returns
// nil because the error has been fully handled. It does so whether tracing is
// on or off, so the chain behaves the same in both modes.
//
// The tracer and propagator are looked up per request, so the order of Setup
// and Middleware does not matter; with tracing off both are the global no-ops.
func Middleware() echo.MiddlewareFunc {
	// Options are built once: per request they would allocate even when off.
	tracerOpts := []trace.TracerOption{trace.WithSchemaURL(semconv.SchemaURL)}
	startOpts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx := otel.GetTextMapPropagator().Extract(req.Context(), propagation.HeaderCarrier(req.Header))

			method := methodAttr(req.Method)
			route := c.Path()
			name := method.Value.AsString()
			if name == "_OTHER" {
				name = "HTTP"
			}
			if route != "" {
				name += " " + route
			}
			ctx, span := otel.Tracer(instrumentationName, tracerOpts...).Start(ctx, name, startOpts...)
			defer span.End()
			// Attributes are set after the start, and only on recording
			// spans, so tracing off pays nothing for them; the samplers
			// configurable through OTEL_TRACES_SAMPLER ignore attributes.
			if span.IsRecording() {
				span.SetAttributes(method)
				if route != "" {
					span.SetAttributes(semconv.HTTPRoute(route))
				}
			}
			// An invalid span context (no provider, no incoming trace) has
			// nothing to pass on: skip copying the request.
			if span.SpanContext().IsValid() {
				c.SetRequest(req.WithContext(ctx))
			}

			if err := next(c); err != nil {
				c.Error(err)
			}
			if !span.IsRecording() {
				return nil
			}
			status := c.Response().Status
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			if status >= 500 {
				// The status code alone: error text may hold internal detail.
				span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
				span.SetStatus(codes.Error, "")
			}
			return nil
		}
	}
}

// methodAttr keeps the method set closed, as the semantic conventions ask, so
// a client cannot mint span names or attribute values with made-up methods.
func methodAttr(m string) attribute.KeyValue {
	switch m {
	case http.MethodGet:
		return semconv.HTTPRequestMethodGet
	case http.MethodHead:
		return semconv.HTTPRequestMethodHead
	case http.MethodPost:
		return semconv.HTTPRequestMethodPost
	case http.MethodPut:
		return semconv.HTTPRequestMethodPut
	case http.MethodPatch:
		return semconv.HTTPRequestMethodPatch
	case http.MethodDelete:
		return semconv.HTTPRequestMethodDelete
	case http.MethodOptions:
		return semconv.HTTPRequestMethodOptions
	case http.MethodConnect:
		return semconv.HTTPRequestMethodConnect
	case http.MethodTrace:
		return semconv.HTTPRequestMethodTrace
	default:
		return semconv.HTTPRequestMethodOther
	}
}
