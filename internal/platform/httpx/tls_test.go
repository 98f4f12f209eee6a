package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"secureapi/internal/testutil/logbuf"
	"secureapi/internal/testutil/testcert"
)

func TestTLSServerPolicyHTTP2AndReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := newCertFiles(t, certFile, keyFile, "first")
	rl, err := NewCertReloader(certFile, keyFile, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(ServerConfig{TLSConfig: TLSConfig(rl)}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}), discardLogger())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, ln, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	url := "https://" + ln.Addr().String() + "/"

	get := func(pool *x509.CertPool, maxVersion uint16) (*http.Response, error) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: maxVersion}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		return (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(url)
	}
	pool := x509.NewCertPool()
	pool.AddCert(first)

	res, err := get(pool, 0)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "HTTP/2.0" {
		t.Fatalf("protocol = %s, want HTTP/2.0", body)
	}
	if _, err := get(pool, tls.VersionTLS11); err == nil {
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	if res, err := get(pool, tls.VersionTLS12); err != nil {
		t.Fatalf("TLS 1.2 refused: %v", err)
	} else {
		res.Body.Close()
	}

	// A renewed certificate is served after Reload (what SIGHUP triggers).
	second := newCertFiles(t, certFile, keyFile, "second")
	if err := rl.Reload(); err != nil {
		t.Fatal(err)
	}
	pool2 := x509.NewCertPool()
	pool2.AddCert(second)
	res, err = get(pool2, 0)
	if err != nil {
		t.Fatalf("renewed certificate not served: %v", err)
	}
	res.Body.Close()
	if res.TLS.PeerCertificates[0].Subject.CommonName != "second" {
		t.Fatalf("served %q", res.TLS.PeerCertificates[0].Subject.CommonName)
	}

	// A broken file on disk keeps the last good certificate.
	os.WriteFile(certFile, []byte("garbage"), 0o600)
	rl.mu.Lock()
	rl.lastCheck = time.Time{}
	rl.mu.Unlock()
	if res, err := get(pool2, 0); err != nil {
		t.Fatalf("broken renewal broke serving: %v", err)
	} else {
		res.Body.Close()
	}
}

func TestRedirectHandler(t *testing.T) {
	cases := []struct {
		name, port, url, want string
		allowed               []string
		status                int
	}{
		{"default port", "443", "http://api.example.com/x?y=1", "https://api.example.com/x?y=1", nil, 308},
		{"other port", "8443", "http://api.example.com:8080/a", "https://api.example.com:8443/a", nil, 308},
		{"allowed host", "443", "http://api.example.com/", "https://api.example.com/", []string{"api.example.com"}, 308},
		{"unknown host refused", "443", "http://evil.example/", "", []string{"api.example.com"}, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			RedirectHandler(c.port, c.allowed).ServeHTTP(rec, httptest.NewRequest("GET", c.url, nil))
			if rec.Code != c.status || rec.Header().Get("Location") != c.want {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Header().Get("Location"), c.status, c.want)
			}
		})
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Real failed handshakes (a client speaking plain HTTP, an untrusted
// certificate) reach the counter and the debug log, never ERROR, and at
// most one warning per interval.
func TestFailedTLSHandshakesAreCountedNotErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	newCertFiles(t, certFile, keyFile, "hs")
	rl, err := NewCertReloader(certFile, keyFile, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	buf := &logbuf.Buffer{}
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var failed atomic.Int64
	srv := NewServer(ServerConfig{TLSConfig: TLSConfig(rl), TLSHandshakeFailed: func() { failed.Add(1) }, HandshakeWarnEvery: time.Hour},
		http.NotFoundHandler(), log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, ln, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })

	const n = 5
	for range n {
		// Plain HTTP to the TLS port, and a client that distrusts the certificate.
		res, err := http.Get("http://" + ln.Addr().String() + "/")
		if err == nil {
			res.Body.Close()
		}
		tr := &http.Transport{TLSClientConfig: &tls.Config{}}
		if _, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + ln.Addr().String() + "/"); err == nil {
			t.Fatal("an untrusted certificate was accepted")
		}
		tr.CloseIdleConnections()
	}
	deadline := time.Now().Add(5 * time.Second)
	for failed.Load() < 2*n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if failed.Load() != 2*n {
		t.Fatalf("counted %d failed handshakes, want %d", failed.Load(), 2*n)
	}
	out := buf.String()
	if strings.Contains(out, `"level":"ERROR"`) {
		t.Errorf("a failed handshake was logged at ERROR:\n%s", out)
	}
	if c := strings.Count(out, `"level":"WARN"`); c != 1 {
		t.Errorf("%d warnings, want 1:\n%s", c, out)
	}
	if c := strings.Count(out, `"msg":"TLS handshake failed"`); c != 2*n {
		t.Errorf("%d debug lines, want %d", c, 2*n)
	}
}

// newCertFiles writes a fresh certificate for 127.0.0.1 and returns it.
func newCertFiles(t *testing.T, certFile, keyFile, cn string) *x509.Certificate {
	c := testcert.New(t, cn)
	c.WriteFiles(t, certFile, keyFile)
	return c.TLS.Leaf
}
