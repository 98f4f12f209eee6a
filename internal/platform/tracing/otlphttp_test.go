package tracing

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"secureapi/internal/testutil/testcert"
)

// secret stands for an API key: no error message may contain it.
const secret = "s3cr3t"

// reply is one scripted answer of an otlpServer.
type reply struct {
	status     int
	retryAfter string
	location   string
	body       string
	delay      time.Duration // before answering, unless the client gives up
}

// otlpRequest is what an otlpServer received, its body gunzipped.
type otlpRequest struct {
	method, path string
	header       http.Header
	body         []byte
	status       int // as answered; 0 when the client went first
}

// otlpServer answers with replies in turn, the last one repeating.
type otlpServer struct {
	srv     *httptest.Server
	replies []reply
	mu      sync.Mutex
	reqs    []otlpRequest
}

func (s *otlpServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, "bad gzip", http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	rep := reply{status: http.StatusOK}
	if n := len(s.reqs); n < len(s.replies) {
		rep = s.replies[n]
	} else if len(s.replies) > 0 {
		rep = s.replies[len(s.replies)-1]
	}
	idx := len(s.reqs)
	s.reqs = append(s.reqs, otlpRequest{r.Method, r.URL.Path, r.Header.Clone(), data, 0})
	s.mu.Unlock()

	select {
	case <-r.Context().Done():
		return // the client gave up: status stays 0
	case <-time.After(rep.delay):
	}
	s.mu.Lock()
	s.reqs[idx].status = rep.status // before the client can see it
	s.mu.Unlock()
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	if rep.location != "" {
		w.Header().Set("Location", rep.location)
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

func (s *otlpServer) received() []otlpRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]otlpRequest(nil), s.reqs...)
}

// delivered counts the exports the server accepted.
func (s *otlpServer) delivered() int {
	n := 0
	for _, r := range s.received() {
		if r.status/100 == 2 {
			n++
		}
	}
	return n
}

func newOTLPServer(t *testing.T, replies ...reply) *otlpServer {
	t.Helper()
	s := &otlpServer{replies: replies}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	if !strings.HasPrefix(s.srv.URL, "http://127.0.0.1:") {
		t.Fatalf("server must listen on 127.0.0.1, got %s", s.srv.URL)
	}
	return s
}

func envLookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func newTestClient(t *testing.T, env map[string]string) *otlpHTTPClient {
	t.Helper()
	c, err := newOTLPHTTPClient(envLookup(env))
	if err != nil {
		t.Fatalf("newOTLPHTTPClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

func probeSpans() []*tracepb.ResourceSpans {
	return []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
		Name:    "probe",
		TraceId: bytes.Repeat([]byte{1}, 16),
		SpanId:  bytes.Repeat([]byte{2}, 8),
	}}}}}}
}

// checkExport decodes a body the way a collector does.
func checkExport(t *testing.T, r otlpRequest) {
	t.Helper()
	if r.method != http.MethodPost {
		t.Errorf("method %s, want POST", r.method)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/x-protobuf" {
		t.Errorf("content type %q, want application/x-protobuf", ct)
	}
	var req collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(r.body, &req); err != nil {
		t.Fatalf("decode export: %v", err)
	}
	if got := req.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()[0].GetName(); got != "probe" {
		t.Errorf("span name %q, want probe", got)
	}
}

func TestOTLPHTTPDelivery(t *testing.T) {
	cases := []struct {
		name     string
		env      func(base string) map[string]string
		wantPath string
		// wantHeaders maps a header to its value; "" means absent.
		wantHeaders map[string]string
		wantGzip    bool
	}{
		{
			name:     "general endpoint gets /v1/traces",
			env:      func(base string) map[string]string { return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": base} },
			wantPath: "/v1/traces",
		},
		{
			name: "general endpoint keeps its path prefix",
			env: func(base string) map[string]string {
				return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": base + "/prefix"}
			},
			wantPath: "/prefix/v1/traces",
		},
		{
			name: "general endpoint with a trailing slash gets no double slash",
			env: func(base string) map[string]string {
				return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": base + "/prefix/"}
			},
			wantPath: "/prefix/v1/traces",
		},
		{
			name: "traces endpoint is used as is and wins",
			env: func(base string) map[string]string {
				return map[string]string{
					"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://127.0.0.1:1/unused",
					"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": base + "/custom/spans",
				}
			},
			wantPath: "/custom/spans",
		},
		{
			name: "empty traces endpoint counts as unset",
			env: func(base string) map[string]string {
				return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": base, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": " "}
			},
			wantPath: "/v1/traces",
		},
		{
			name: "headers are sent percent-decoded",
			env: func(base string) map[string]string {
				return map[string]string{
					"OTEL_EXPORTER_OTLP_ENDPOINT": base,
					"OTEL_EXPORTER_OTLP_HEADERS":  "api-key=" + secret + "%3D%3D, x-team = blue%20team ,",
				}
			},
			wantPath:    "/v1/traces",
			wantHeaders: map[string]string{"Api-Key": secret + "==", "X-Team": "blue team"},
		},
		{
			name: "traces headers replace the general ones",
			env: func(base string) map[string]string {
				return map[string]string{
					"OTEL_EXPORTER_OTLP_ENDPOINT":       base,
					"OTEL_EXPORTER_OTLP_HEADERS":        "api-key=general,x-general=1",
					"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "api-key=traces",
				}
			},
			wantPath:    "/v1/traces",
			wantHeaders: map[string]string{"Api-Key": "traces", "X-General": ""},
		},
		{
			name: "a header cannot replace the content type",
			env: func(base string) map[string]string {
				return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": base, "OTEL_EXPORTER_OTLP_HEADERS": "content-type=text/plain"}
			},
			wantPath: "/v1/traces",
		},
		{
			name: "gzip",
			env: func(base string) map[string]string {
				return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": base, "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}
			},
			wantPath:    "/v1/traces",
			wantHeaders: map[string]string{"Content-Encoding": "gzip"},
			wantGzip:    true,
		},
		{
			name: "traces compression none overrides general gzip",
			env: func(base string) map[string]string {
				return map[string]string{
					"OTEL_EXPORTER_OTLP_ENDPOINT":           base,
					"OTEL_EXPORTER_OTLP_COMPRESSION":        "gzip",
					"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "none",
				}
			},
			wantPath:    "/v1/traces",
			wantHeaders: map[string]string{"Content-Encoding": ""},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newOTLPServer(t)
			c := newTestClient(t, tc.env(srv.srv.URL))
			if err := c.UploadTraces(context.Background(), probeSpans()); err != nil {
				t.Fatalf("UploadTraces: %v", err)
			}
			got := srv.received()
			if len(got) != 1 {
				t.Fatalf("server got %d requests, want 1", len(got))
			}
			r := got[0]
			if r.path != tc.wantPath {
				t.Errorf("path %q, want %q", r.path, tc.wantPath)
			}
			checkExport(t, r)
			for k, want := range tc.wantHeaders {
				if v := r.header.Get(k); v != want {
					t.Errorf("header %s = %q, want %q", k, v, want)
				}
			}
			if gz := r.header.Get("Content-Encoding") == "gzip"; gz != tc.wantGzip {
				t.Errorf("gzip %v, want %v", gz, tc.wantGzip)
			}
		})
	}
}

func TestOTLPHTTPRetries(t *testing.T) {
	cases := []struct {
		name       string
		env        map[string]string // besides the endpoint
		replies    []reply
		ctxTimeout time.Duration
		// wantErr lists substrings of the error; nil means success.
		wantErr       []string
		wantErrIs     error
		wantAttempts  int
		wantDelivered int
		// backoff replaces the 1 s first wait, so that retries do not slow
		// the test down; 0 keeps a short one.
		backoff time.Duration
	}{
		{
			name:          "503 with Retry-After 0, then 200",
			replies:       []reply{{status: 503, retryAfter: "0"}, {status: 200}},
			wantAttempts:  2,
			wantDelivered: 1,
		},
		{
			name: "429, 502 and 504 are retried too",
			replies: []reply{
				{status: 429, retryAfter: "0"}, {status: 502, retryAfter: "0"},
				{status: 504, retryAfter: "0"}, {status: 200},
			},
			wantAttempts:  4,
			wantDelivered: 1,
		},
		{
			name:         "400 is not retried and the error quotes a bounded body",
			replies:      []reply{{status: 400, body: "bad spans " + strings.Repeat("x", 1000)}},
			wantErr:      []string{"400", "bad spans"},
			wantAttempts: 1,
		},
		{
			name:         "a redirect is not followed",
			replies:      []reply{{status: 307, location: "/elsewhere"}},
			wantErr:      []string{"307"},
			wantAttempts: 1,
		},
		{
			name:         "the context deadline stops the retries",
			replies:      []reply{{status: 503}},
			ctxTimeout:   300 * time.Millisecond,
			wantErr:      []string{"503"},
			wantErrIs:    context.DeadlineExceeded,
			backoff:      10 * time.Second,
			wantAttempts: 1,
		},
		{
			name:         "a Retry-After beyond the minute budget ends the retries",
			replies:      []reply{{status: 503, retryAfter: "120"}},
			wantErr:      []string{"503"},
			wantAttempts: 1,
		},
		{
			name:         "the per-request timeout applies",
			env:          map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "100"},
			replies:      []reply{{status: 200, delay: 10 * time.Second}},
			wantErr:      []string{"OTLP POST"},
			wantErrIs:    context.DeadlineExceeded,
			wantAttempts: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newOTLPServer(t, tc.replies...)
			env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.srv.URL}
			for k, v := range tc.env {
				env[k] = v
			}
			c := newTestClient(t, env)
			c.backoff = cmp.Or(tc.backoff, 5*time.Millisecond)
			ctx := context.Background()
			if tc.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctxTimeout)
				defer cancel()
			}

			err := c.UploadTraces(ctx, probeSpans())

			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("UploadTraces: %v", err)
			case tc.wantErr != nil && err == nil:
				t.Fatal("UploadTraces succeeded, want an error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if err != nil && len(err.Error()) > 400 {
				t.Errorf("error is %d bytes long: %q", len(err.Error()), err)
			}
			if tc.wantErrIs != nil && !errors.Is(err, tc.wantErrIs) {
				t.Errorf("error %v is not %v", err, tc.wantErrIs)
			}
			got := srv.received()
			if len(got) != tc.wantAttempts {
				t.Errorf("server got %d requests, want %d", len(got), tc.wantAttempts)
			}
			for _, r := range got {
				if r.path != "/v1/traces" {
					t.Errorf("request to %s, want /v1/traces", r.path)
				}
			}
			if n := srv.delivered(); n != tc.wantDelivered {
				t.Errorf("delivered %d times, want %d", n, tc.wantDelivered)
			}
		})
	}
}

// writePEM writes blocks of one type to a new file in dir.
func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOTLPHTTPTLS(t *testing.T) {
	dir := t.TempDir()
	client := testcert.New(t, "otlp-client")
	certFile, keyFile, clientCAs := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"), client.Pool
	client.WriteFiles(t, certFile, keyFile)

	cases := []struct {
		name       string
		mutualTLS  bool
		withCA     string // the variable naming the server's CA, if any
		withClient bool
		wantErr    bool
	}{
		{name: "CA bundle trusts the server", withCA: "OTEL_EXPORTER_OTLP_CERTIFICATE"},
		{name: "traces CA bundle trusts the server", withCA: "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"},
		{name: "unknown server certificate fails", wantErr: true},
		{name: "client certificate accepted", mutualTLS: true, withCA: "OTEL_EXPORTER_OTLP_CERTIFICATE", withClient: true},
		{name: "missing client certificate fails", mutualTLS: true, withCA: "OTEL_EXPORTER_OTLP_CERTIFICATE", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &otlpServer{}
			s.srv = httptest.NewUnstartedServer(s)
			s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are expected
			if tc.mutualTLS {
				s.srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}
			}
			s.srv.StartTLS()
			t.Cleanup(s.srv.Close)
			if !strings.HasPrefix(s.srv.URL, "https://127.0.0.1:") {
				t.Fatalf("server must listen on 127.0.0.1, got %s", s.srv.URL)
			}

			env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": s.srv.URL}
			if tc.withCA != "" {
				env[tc.withCA] = writePEM(t, t.TempDir(), "ca.pem", "CERTIFICATE", s.srv.Certificate().Raw)
			}
			if tc.withClient {
				env["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = certFile
				env["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = keyFile
			}
			c := newTestClient(t, env)
			err := c.UploadTraces(context.Background(), probeSpans())
			if tc.wantErr {
				if err == nil {
					t.Fatal("UploadTraces succeeded, want a TLS error")
				}
				if n := len(s.received()); n != 0 {
					t.Errorf("server handled %d requests, want 0", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("UploadTraces: %v", err)
			}
			got := s.received()
			if len(got) != 1 {
				t.Fatalf("server got %d requests, want 1", len(got))
			}
			checkExport(t, got[0])
		})
	}
}

// Setup hands the process environment to the client: headers set there
// reach the collector.
func TestSetupConfiguresClientFromEnvironment(t *testing.T) {
	cleanEnv(t)
	srv := newOTLPServer(t)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", srv.srv.URL+"/otlp/v1/traces")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "api-key="+secret)
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
	shutdown, enabled, err := Setup(context.Background(), os.LookupEnv)
	if err != nil || !enabled {
		t.Fatalf("Setup = enabled %v, err %v", enabled, err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "probe")
	span.End()
	flush(t, shutdown)

	got := srv.received()
	if len(got) != 1 {
		t.Fatalf("server got %d requests, want 1", len(got))
	}
	r := got[0]
	checkExport(t, r)
	if r.path != "/otlp/v1/traces" {
		t.Errorf("path %q", r.path)
	}
	if r.header.Get("Api-Key") != secret || r.header.Get("Content-Encoding") != "gzip" {
		t.Errorf("headers %v", r.header)
	}
}

func TestSetupRefusesInvalidExporterConfig(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte(secret+" is no certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	certFile, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	testcert.New(t, "otlp-client").WriteFiles(t, certFile, keyFile)

	const ok = "http://127.0.0.1:1"
	cases := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"endpoint without a scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"endpoint host and port only", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"endpoint with a gRPC scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://collector:4317"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"endpoint without a host", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http:///v1"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"endpoint credentials not echoed", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://user:" + secret + "@collector"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"unparsable endpoint not echoed", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://user:" + secret + "@[::1"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"traces endpoint with another scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "unix:///run/otel.sock"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{"header without =", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_HEADERS": "x-team=blue,Bearer " + secret}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{"header name with a space", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_HEADERS": "api key=" + secret}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{"header with an empty name", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_HEADERS": "=" + secret}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{"header with a bad escape", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_HEADERS": "api-key=" + secret + "%zz"}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{"header with a newline", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_HEADERS": "api-key=" + secret + "%0D%0AX-Injected:%201"}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{"malformed traces headers", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_HEADERS": "a=b", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": secret}, "OTEL_EXPORTER_OTLP_TRACES_HEADERS"},
		{"timeout not a number", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, "OTEL_EXPORTER_OTLP_TIMEOUT"},
		{"timeout negative", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_TIMEOUT": "-5"}, "OTEL_EXPORTER_OTLP_TIMEOUT"},
		{"timeout zero", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "0"}, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"},
		{"compression unknown", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, "OTEL_EXPORTER_OTLP_COMPRESSION"},
		{"CA bundle missing", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_CERTIFICATE": missing}, "OTEL_EXPORTER_OTLP_CERTIFICATE"},
		{"CA bundle not PEM", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": notPEM}, "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"},
		{"client certificate without key", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": certFile}, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"},
		{"client key without certificate", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY": keyFile}, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY"},
		{"client key not PEM", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": certFile, "OTEL_EXPORTER_OTLP_CLIENT_KEY": notPEM}, "OTEL_EXPORTER_OTLP_CLIENT_KEY"},
		{"client certificate missing", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": ok, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": missing, "OTEL_EXPORTER_OTLP_CLIENT_KEY": keyFile}, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			tp := otel.GetTracerProvider()
			shutdown, enabled, err := Setup(context.Background(), os.LookupEnv)
			if err == nil {
				_ = shutdown(context.Background())
				t.Fatal("Setup succeeded, want an error")
			}
			if enabled || otel.GetTracerProvider() != tp {
				t.Error("Setup installed tracing despite the error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.wantVar) {
				t.Errorf("error %q does not name %s", msg, tc.wantVar)
			}
			if strings.Contains(msg, secret) {
				t.Errorf("error %q quotes a secret", msg)
			}
		})
	}
}
