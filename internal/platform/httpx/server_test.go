package httpx_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"secureapi/internal/platform/httpx"
	"secureapi/internal/testutil/testcert"
)

func TestNewServer(t *testing.T) {
	logger, _ := newJSONLogger()
	h := http.NewServeMux()

	t.Run("defaults", func(t *testing.T) {
		srv := httpx.NewServer(httpx.ServerConfig{Addr: ":0"}, h, logger)
		if srv.Addr != ":0" || srv.Handler != h {
			t.Fatalf("addr/handler not applied: %q %v", srv.Addr, srv.Handler)
		}
		if srv.ReadHeaderTimeout != httpx.DefaultReadHeaderTimeout || srv.ReadTimeout != httpx.DefaultReadTimeout ||
			srv.WriteTimeout != httpx.DefaultWriteTimeout || srv.IdleTimeout != httpx.DefaultIdleTimeout ||
			srv.MaxHeaderBytes != httpx.DefaultMaxHeaderBytes {
			t.Fatalf("defaults not applied: %+v", srv)
		}
	})
	t.Run("explicit", func(t *testing.T) {
		tc := &tls.Config{MinVersion: tls.VersionTLS13}
		srv := httpx.NewServer(httpx.ServerConfig{
			ReadHeaderTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second,
			IdleTimeout: 4 * time.Second, MaxHeaderBytes: 1234, TLSConfig: tc,
		}, h, logger)
		if srv.ReadHeaderTimeout != time.Second || srv.ReadTimeout != 2*time.Second || srv.WriteTimeout != 3*time.Second ||
			srv.IdleTimeout != 4*time.Second || srv.MaxHeaderBytes != 1234 || srv.TLSConfig != tc {
			t.Fatalf("explicit values not applied: %+v", srv)
		}
	})
	t.Run("error log goes to slog", func(t *testing.T) {
		logger, buf := newJSONLogger()
		srv := httpx.NewServer(httpx.ServerConfig{}, h, logger)
		if srv.ErrorLog == nil {
			t.Fatal("ErrorLog not set")
		}
		srv.ErrorLog.Print("http: panic serving 1.2.3.4:5: boom")
		lines := logLines(t, buf)
		if len(lines) != 1 || lines[0]["level"] != "ERROR" || !strings.Contains(lines[0]["msg"].(string), "panic serving") {
			t.Fatalf("log = %s", buf.String())
		}
	})
	t.Run("failed TLS handshakes are counted, not errors", func(t *testing.T) {
		logger, buf := newJSONLogger()
		var count atomic.Int64
		srv := httpx.NewServer(httpx.ServerConfig{TLSHandshakeFailed: func() { count.Add(1) }, HandshakeWarnEvery: time.Hour}, h, logger)
		for range 50 {
			srv.ErrorLog.Print("http: TLS handshake error from 198.51.100.7:40000: EOF")
		}
		if count.Load() != 50 {
			t.Fatalf("counted %d, want 50", count.Load())
		}
		levels := map[string]int{}
		for _, l := range logLines(t, buf) {
			levels[l["level"].(string)]++
		}
		if levels["ERROR"] != 0 || levels["WARN"] != 1 || levels["DEBUG"] != 50 {
			t.Fatalf("levels = %v; want 50 DEBUG lines and one WARN", levels)
		}
	})
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

type getResult struct {
	status int
	body   string
	err    error
}

func get(client *http.Client, url string) <-chan getResult {
	out := make(chan getResult, 1)
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			out <- getResult{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		out <- getResult{resp.StatusCode, string(b), err}
	}()
	return out
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestServeGracefulShutdown(t *testing.T) {
	started := make(chan struct{})
	finished := make(chan struct{})
	e := echo.New()
	e.GET("/slow", func(c echo.Context) error {
		close(started)
		time.Sleep(300 * time.Millisecond)
		defer close(finished)
		return c.String(http.StatusOK, "done")
	})
	logger, _ := newJSONLogger()
	srv := httpx.NewServer(httpx.ServerConfig{}, e, logger)
	ln := listen(t)
	url := "http://" + ln.Addr().String() + "/slow"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- httpx.Serve(ctx, srv, ln, 5*time.Second) }()

	client := &http.Client{Transport: &http.Transport{}}
	resp := get(client, url)
	waitFor(t, started, "the handler to start")
	cancel()

	err := waitFor(t, served, "Serve to return")
	select {
	case <-finished:
	default:
		t.Fatal("Serve returned before the in-flight request finished")
	}
	if err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	r := waitFor(t, resp, "the response")
	if r.err != nil || r.status != http.StatusOK || r.body != "done" {
		t.Fatalf("in-flight request got status %d body %q err %v, want 200 done", r.status, r.body, r.err)
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}

func TestServeDrainExceeded(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})
	logger, _ := newJSONLogger()
	srv := httpx.NewServer(httpx.ServerConfig{}, h, logger)
	ln := listen(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- httpx.Serve(ctx, srv, ln, 100*time.Millisecond) }()

	resp := get(&http.Client{Transport: &http.Transport{}}, "http://"+ln.Addr().String()+"/")
	waitFor(t, started, "the handler to start")
	start := time.Now()
	cancel()
	err := waitFor(t, served, "Serve to return")
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("Serve = %v, want a drain deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Serve took %v, want about the drain period", d)
	}
	if r := waitFor(t, resp, "the client to notice"); r.err == nil {
		t.Fatalf("client got %d although its connection was force-closed", r.status)
	}
}

func TestServeReturnsServerError(t *testing.T) {
	ln := listen(t)
	ln.Close()
	logger, _ := newJSONLogger()
	srv := httpx.NewServer(httpx.ServerConfig{}, http.NewServeMux(), logger)
	err := waitFor(t, asyncServe(context.Background(), srv, ln), "Serve to fail")
	if err == nil {
		t.Fatal("Serve on a closed listener returned nil")
	}
}

func asyncServe(ctx context.Context, srv *http.Server, ln net.Listener) <-chan error {
	out := make(chan error, 1)
	go func() { out <- httpx.Serve(ctx, srv, ln, time.Second) }()
	return out
}

func TestServeTLS(t *testing.T) {
	cert := testcert.New(t, "127.0.0.1").TLS
	e := echo.New()
	e.Use(httpx.SecurityHeaders(httpx.SecurityHeadersConfig{}))
	e.GET("/", func(c echo.Context) error {
		return c.String(http.StatusOK, map[bool]string{true: "tls", false: "plain"}[c.Request().TLS != nil])
	})
	logger, _ := newJSONLogger()
	srv := httpx.NewServer(httpx.ServerConfig{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}, e, logger)
	ln := listen(t)

	ctx, cancel := context.WithCancel(context.Background())
	served := asyncServe(ctx, srv, ln)

	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		cancel()
		t.Fatalf("TLS request: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cancel()
	if string(body) != "tls" {
		t.Fatalf("body = %q, want tls", body)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS over a real TLS connection")
	}
	if err := waitFor(t, served, "Serve to return"); err != nil {
		t.Fatalf("Serve = %v", err)
	}
}
