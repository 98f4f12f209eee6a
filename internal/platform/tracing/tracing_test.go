package tracing

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otelVars are cleared for every test so that the machine's environment
// cannot change what the SDK reads.
var otelVars = []string{
	"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
	"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
	"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
	"OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_CLIENT_KEY", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
}

// cleanEnv empties every OTEL_* variable and restores the global provider
// and propagator afterwards, since Setup replaces both.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, k := range otelVars {
		t.Setenv(k, "")
	}
	tp, prop := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(prop)
	})
}

// collector is a fake OTLP/HTTP receiver.
type collector struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []received
}

type received struct {
	method, path, contentType string
	body                      []byte
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	col := &collector{}
	col.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		col.mu.Lock()
		col.reqs = append(col.reqs, received{r.Method, r.URL.Path, r.Header.Get("Content-Type"), body})
		col.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(col.srv.Close)
	if !strings.HasPrefix(col.srv.URL, "http://127.0.0.1:") {
		t.Fatalf("collector must listen on 127.0.0.1, got %s", col.srv.URL)
	}
	return col
}

func (col *collector) received() []received {
	col.mu.Lock()
	defer col.mu.Unlock()
	return append([]received(nil), col.reqs...)
}

// spans decodes every export and returns the spans with their resources.
func (col *collector) spans(t *testing.T) ([]*tracepb.Span, []*tracepb.ResourceSpans) {
	t.Helper()
	var spans []*tracepb.Span
	var resources []*tracepb.ResourceSpans
	for _, r := range col.received() {
		if r.method != http.MethodPost || r.path != "/v1/traces" {
			t.Fatalf("collector got %s %s, want POST /v1/traces", r.method, r.path)
		}
		if r.contentType != "application/x-protobuf" {
			t.Fatalf("content type %q, want application/x-protobuf", r.contentType)
		}
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(r.body, &req); err != nil {
			t.Fatalf("decode export: %v", err)
		}
		for _, rs := range req.GetResourceSpans() {
			resources = append(resources, rs)
			for _, ss := range rs.GetScopeSpans() {
				spans = append(spans, ss.GetSpans()...)
			}
		}
	}
	return spans, resources
}

// startTracing points the exporter at col (the http:// scheme means no TLS)
// and returns the shutdown func from Setup.
func startTracing(t *testing.T, col *collector) func(context.Context) error {
	t.Helper()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.srv.URL)
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on")
	shutdown, enabled, err := Setup(context.Background(), os.LookupEnv)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if !enabled {
		t.Fatal("Setup reported tracing off with an endpoint set")
	}
	t.Cleanup(func() { _ = shutdown(context.Background()) })
	return shutdown
}

func flush(t *testing.T, shutdown func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func newEcho() *echo.Echo {
	e := echo.New()
	e.Use(Middleware())
	e.GET("/items/:id", func(c echo.Context) error { return c.String(http.StatusOK, "item "+c.Param("id")) })
	e.GET("/broken", func(c echo.Context) error { return errors.New("database password=hunter2 rejected") })
	return e
}

func serve(e *echo.Echo, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func attr(attrs []*commonpb.KeyValue, key string) (*commonpb.AnyValue, bool) {
	for _, kv := range attrs {
		if kv.GetKey() == key {
			return kv.GetValue(), true
		}
	}
	return nil, false
}

func TestSetupDecision(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		want    bool
		wantErr bool
	}{
		{name: "nothing set", env: nil},
		{name: "empty endpoint counts as unset", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": " "}},
		{name: "unrelated variables only", env: map[string]string{"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"}},
		{name: "SDK disabled wins", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "TRUE"}},
		{name: "exporter none wins", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"}},
		{name: "grpc protocol refused", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, wantErr: true},
		{name: "traces protocol overrides general", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, want: true},
		{name: "traces endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"}, want: true},
		{name: "general endpoint, disabled false", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "false"}, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			got, err := wanted(lookup)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("enabled = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOffInstallsNothingAndServes(t *testing.T) {
	cleanEnv(t)
	tp, prop := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	// The process environment says "on": only lookup may decide.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	none := func(string) (string, bool) { return "", false }

	shutdown, enabled, err := Setup(context.Background(), none)
	if err != nil || enabled {
		t.Fatalf("Setup = enabled %v, err %v; want off without error", enabled, err)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatalf("no-op shutdown: %v", err)
	}
	if otel.GetTracerProvider() != tp || otel.GetTextMapPropagator() != prop {
		t.Fatal("Setup installed a global while off")
	}

	e := newEcho()
	req := httptest.NewRequest(http.MethodGet, "/items/42?secret=x", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	rec := serve(e, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "item 42" {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
	if rec := serve(e, httptest.NewRequest(http.MethodGet, "/broken", nil)); rec.Code != http.StatusInternalServerError {
		t.Fatalf("error route: got %d, want 500", rec.Code)
	}
}

func TestExportsRouteSpanWithoutSecrets(t *testing.T) {
	cleanEnv(t)
	col := newCollector(t)
	shutdown := startTracing(t, col)

	e := newEcho()
	req := httptest.NewRequest(http.MethodGet, "/items/42?secret=x", nil)
	req.Header.Set("Authorization", "Bearer secret-token")
	req.Header.Set("Cookie", "refresh=secret-cookie")
	req.Header.Set("User-Agent", "secret-agent")
	if rec := serve(e, req); rec.Code != http.StatusOK {
		t.Fatalf("got %d", rec.Code)
	}
	flush(t, shutdown)

	got := col.received()
	if len(got) == 0 {
		t.Fatal("collector received nothing")
	}
	for _, r := range got {
		for _, leak := range []string{"/items/42", "secret", "hunter2"} {
			if bytes.Contains(r.body, []byte(leak)) {
				t.Errorf("export body contains %q", leak)
			}
		}
	}
	spans, resources := col.spans(t)
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.GetName() != "GET /items/:id" {
		t.Errorf("span name %q, want %q", s.GetName(), "GET /items/:id")
	}
	if s.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("span kind %v, want server", s.GetKind())
	}
	if v, _ := attr(s.GetAttributes(), "http.route"); v.GetStringValue() != "/items/:id" {
		t.Errorf("http.route = %v", v)
	}
	if v, _ := attr(s.GetAttributes(), "http.request.method"); v.GetStringValue() != "GET" {
		t.Errorf("http.request.method = %v", v)
	}
	if v, _ := attr(s.GetAttributes(), "http.response.status_code"); v.GetIntValue() != 200 {
		t.Errorf("http.response.status_code = %v", v)
	}
	if len(s.GetAttributes()) != 3 {
		t.Errorf("unexpected attributes: %v", s.GetAttributes())
	}
	if s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Error("2xx marked as error")
	}
	if v, _ := attr(resources[0].GetResource().GetAttributes(), "service.name"); v.GetStringValue() != "secureapi" {
		t.Errorf("service.name = %v, want secureapi", v)
	}
}

func TestContinuesIncomingTrace(t *testing.T) {
	cleanEnv(t)
	t.Setenv("OTEL_SERVICE_NAME", "api-eu")
	col := newCollector(t)
	shutdown := startTracing(t, col)

	e := echo.New()
	e.Use(Middleware())
	var inHandler string
	e.GET("/items/:id", func(c echo.Context) error {
		// Handlers see the server span, so child spans join the same trace.
		carrier := propagation.HeaderCarrier{}
		otel.GetTextMapPropagator().Inject(c.Request().Context(), carrier)
		inHandler = carrier.Get("traceparent")
		return c.NoContent(http.StatusNoContent)
	})

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req := httptest.NewRequest(http.MethodGet, "/items/7", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	serve(e, req)
	flush(t, shutdown)

	spans, resources := col.spans(t)
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1", len(spans))
	}
	s := spans[0]
	if got := hex.EncodeToString(s.GetTraceId()); got != traceID {
		t.Errorf("trace id %s, want %s", got, traceID)
	}
	if got := hex.EncodeToString(s.GetParentSpanId()); got != parentID {
		t.Errorf("parent span id %s, want %s", got, parentID)
	}
	if want := "00-" + traceID + "-" + hex.EncodeToString(s.GetSpanId()) + "-01"; inHandler != want {
		t.Errorf("handler context traceparent %q, want %q", inHandler, want)
	}
	if v, _ := attr(resources[0].GetResource().GetAttributes(), "service.name"); v.GetStringValue() != "api-eu" {
		t.Errorf("service.name = %v, want OTEL_SERVICE_NAME", v)
	}
}

func TestServerErrorMarksSpan(t *testing.T) {
	cleanEnv(t)
	col := newCollector(t)
	shutdown := startTracing(t, col)

	e := newEcho()
	e.GET("/missing/:id", func(c echo.Context) error { return echo.NewHTTPError(http.StatusNotFound) })
	if rec := serve(e, httptest.NewRequest(http.MethodGet, "/broken", nil)); rec.Code != http.StatusInternalServerError {
		t.Fatalf("got %d, want 500", rec.Code)
	}
	if rec := serve(e, httptest.NewRequest(http.MethodGet, "/missing/1", nil)); rec.Code != http.StatusNotFound {
		t.Fatalf("got %d, want 404", rec.Code)
	}
	if rec := serve(e, httptest.NewRequest(http.MethodGet, "/nowhere/secret", nil)); rec.Code != http.StatusNotFound {
		t.Fatalf("got %d, want 404", rec.Code)
	}
	flush(t, shutdown)

	for _, r := range col.received() {
		for _, leak := range []string{"hunter2", "password", "secret", "/nowhere"} {
			if bytes.Contains(r.body, []byte(leak)) {
				t.Errorf("export body contains %q", leak)
			}
		}
	}
	spans, _ := col.spans(t)
	byName := map[string]*tracepb.Span{}
	for _, s := range spans {
		byName[s.GetName()] = s
	}
	// An unmatched path has no route template: the span is named by method alone.
	if unmatched := byName["GET"]; unmatched == nil {
		t.Errorf("no span for the unmatched path in %v", spans)
	} else if _, ok := attr(unmatched.GetAttributes(), "http.route"); ok {
		t.Error("unmatched path recorded a route")
	}
	broken := byName["GET /broken"]
	if broken == nil {
		t.Fatalf("no span for /broken in %v", spans)
	}
	if v, _ := attr(broken.GetAttributes(), "http.response.status_code"); v.GetIntValue() != 500 {
		t.Errorf("status attribute %v, want 500", v)
	}
	if v, _ := attr(broken.GetAttributes(), "error.type"); v.GetStringValue() != "500" {
		t.Errorf("error.type = %v, want 500", v)
	}
	if broken.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR || broken.GetStatus().GetMessage() != "" {
		t.Errorf("status %v, want error without message", broken.GetStatus())
	}
	missing := byName["GET /missing/:id"]
	if missing == nil {
		t.Fatalf("no span for /missing/:id in %v", spans)
	}
	if v, _ := attr(missing.GetAttributes(), "http.response.status_code"); v.GetIntValue() != 404 {
		t.Errorf("status attribute %v, want 404", v)
	}
	if missing.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Error("4xx marked as error")
	}
}
