// Package apitest runs HTTP scenarios against the real router on a freshly
// migrated database (SQLite always, PostgreSQL when TEST_DATABASE_URL is set)
// and holds every response to openapi.yaml (CheckContract): a status, header,
// media type or body field the operation does not declare fails the test.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"secureapi/internal/app"
	"secureapi/internal/platform/config"
	"secureapi/internal/platform/logging"
	"secureapi/internal/testutil/logbuf"
	"secureapi/internal/testutil/testdb"
)

// Clock is a settable time source shared by the app's services.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// SyncBuffer captures the app's log.
type SyncBuffer = logbuf.Buffer

// Env is one running app on one database.
type Env struct {
	Engine  string
	App     *app.App
	Clock   *Clock
	Logs    *SyncBuffer
	DataDir string
	vars    map[string]string
}

// BaseEnv is the configuration every test app starts from: development mode,
// a temporary DATA_DIR, cheap password hashing so suites stay fast, and rate
// limits out of the way.
func BaseEnv(dataDir string) map[string]string {
	return map[string]string{
		"APP_ENV":           "development",
		"DATA_DIR":          dataDir,
		"ARGON2_MEMORY_KIB": "64",
		"ARGON2_ITERATIONS": "1",
		"HASH_CONCURRENCY":  "4",
		"METRICS_ADDR":      "",
		"LOG_LEVEL":         "debug",
		"LOG_FORMAT":        "json",
		// Scenario suites log in many times from one address; rate-limit
		// tests set these back to small values.
		"RATE_LIMIT_IP_PER_MINUTE":   "100000",
		"RATE_LIMIT_USER_PER_MINUTE": "100000",
		"RATE_LIMIT_AUTH_PER_MINUTE": "100000",
	}
}

// New starts the app on engine ("sqlite" or "postgres") with BaseEnv plus
// overrides (an empty value removes a variable).
func New(t testing.TB, engine string, overrides map[string]string) *Env {
	t.Helper()
	dataDir := t.TempDir()
	vars := BaseEnv(dataDir)
	switch engine {
	case "sqlite":
		// DATA_DIR/app.db, the default database, starts as a migrated copy.
		testdb.CopySQLiteTemplate(t, filepath.Join(dataDir, "app.db"))
	case "postgres":
		vars["DATABASE_URL"] = testdb.PostgresURL(t)
	default:
		t.Fatalf("unknown engine %q", engine)
	}
	for k, v := range overrides {
		if v == "" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	e := start(t, engine, vars, &Clock{now: time.Now().UTC()}, app.Options{})
	if _, _, err := Spec(); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return e
}

func start(t testing.TB, engine string, vars map[string]string, clock *Clock, opts app.Options) *Env {
	t.Helper()
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, "")
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &SyncBuffer{}
	opts.Now = clock.Now
	a, err := app.New(context.Background(), cfg, logging.New(logs, "debug", "json"), opts)
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return &Env{Engine: engine, App: a, Clock: clock, Logs: logs, DataDir: vars["DATA_DIR"], vars: vars}
}

// Twin starts a second instance on e's database, configuration and clock,
// as a second server process would run beside the first.
func (e *Env) Twin(t testing.TB, opts app.Options) *Env {
	t.Helper()
	return start(t, e.Engine, e.vars, e.Clock, opts)
}

// Each runs fn once per engine, each with a fresh app on a database of its
// own (a copy of a migrated SQLite file; a new PostgreSQL schema), the
// engines in parallel.
func Each(t *testing.T, overrides map[string]string, fn func(t *testing.T, e *Env)) {
	for _, engine := range testdb.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, New(t, engine, overrides))
		})
	}
}

// Request is one HTTP call.
type Request struct {
	Method  string
	URL     string
	Body    any    // marshaled as JSON unless it is a string or []byte (sent as is)
	Token   string // bearer access token
	Headers map[string]string
	Cookies []*http.Cookie
	// RemoteAddr is the socket peer (default 192.0.2.10:40000).
	RemoteAddr string
}

// Response is what came back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("decode body %q: %v", r.Body, err)
	}
	return m
}

// Decode decodes the body into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode body %q: %v", r.Body, err)
	}
}

// DecodeStrict decodes the body into v (a gen/api type), failing on a field
// v does not have, so a test compares the whole document with cmp.Diff.
func (r *Response) DecodeStrict(t testing.TB, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode body %q into %T: %v", r.Body, v, err)
	}
}

// Cookie returns the named Set-Cookie of the response, or nil.
func (r *Response) Cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// NewHTTPRequest builds the *http.Request for req.
func NewHTTPRequest(t testing.TB, req Request) *http.Request {
	t.Helper()
	var body io.Reader
	ct := ""
	switch b := req.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
		ct = "application/json"
	case []byte:
		body = bytes.NewReader(b)
		ct = "application/json"
	case io.Reader:
		body = b
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal body: %v", err)
		}
		body = bytes.NewReader(js)
		ct = "application/json"
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	r := httptest.NewRequest(method, req.URL, body)
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	r.RemoteAddr = "192.0.2.10:40000"
	if req.RemoteAddr != "" {
		r.RemoteAddr = req.RemoteAddr
	}
	if req.Token != "" {
		r.Header.Set("Authorization", "Bearer "+req.Token)
	}
	for k, v := range req.Headers {
		r.Header.Set(k, v)
	}
	for _, c := range req.Cookies {
		r.AddCookie(c)
	}
	return r
}

// Do runs req through the router and validates the response against the spec.
func (e *Env) Do(t testing.TB, req Request) *Response {
	t.Helper()
	return e.Serve(t, NewHTTPRequest(t, req))
}

// Serve runs an *http.Request through the router and validates the response.
func (e *Env) Serve(t testing.TB, r *http.Request) *Response {
	t.Helper()
	rec := httptest.NewRecorder()
	e.App.Handler.ServeHTTP(rec, r)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	out := &Response{Status: res.StatusCode, Header: res.Header, Body: body}
	if out.Status >= 500 {
		// The body says nothing on purpose; the log says why.
		for _, line := range strings.Split(e.Logs.String(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) {
				t.Logf("server log: %s", line)
			}
		}
	}
	e.validate(t, r, out)
	return out
}

// validate fails the test when a response breaks the contract (CheckContract).
func (e *Env) validate(t testing.TB, r *http.Request, res *Response) {
	t.Helper()
	if err := CheckContract(r, res); err != nil {
		t.Errorf("response does not match openapi.yaml:\n%v\nbody: %.2000s", err, res.Body)
	}
}

// Scenario is one request and what the user must see.
type Scenario struct {
	Name string
	Request
	WantStatus  int
	WantProblem string            // problem type slug, e.g. "not-found"
	WantHeaders map[string]string // exact values; "" means the header must be absent
	Check       func(t *testing.T, res *Response)
}

// Run runs scenarios in order as subtests.
func (e *Env) Run(t *testing.T, scenarios []Scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			res := e.Do(t, sc.Request)
			if sc.WantStatus != 0 && res.Status != sc.WantStatus {
				t.Fatalf("status = %d, want %d; body: %s", res.Status, sc.WantStatus, res.Body)
			}
			if sc.WantProblem != "" {
				AssertProblem(t, res, sc.WantProblem)
			}
			for k, v := range sc.WantHeaders {
				if got := res.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if sc.Check != nil {
				sc.Check(t, res)
			}
		})
	}
}

// AssertProblem checks that res is a problem+json document of the given type
// slug carrying status, title, instance and request id.
func AssertProblem(t testing.TB, res *Response, slug string) map[string]any {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body: %s", ct, res.Body)
	}
	p := res.JSON(t)
	if p["type"] != "/problems/"+slug {
		t.Errorf("problem type = %v, want /problems/%s; body: %s", p["type"], slug, res.Body)
	}
	if int(p["status"].(float64)) != res.Status {
		t.Errorf("problem status %v != HTTP status %d", p["status"], res.Status)
	}
	if p["title"] == "" || p["request_id"] == nil || p["request_id"] != res.Header.Get("X-Request-ID") {
		t.Errorf("problem lacks title or request id matching X-Request-ID: %s", res.Body)
	}
	return p
}
