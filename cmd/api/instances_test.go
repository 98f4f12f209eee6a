package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"secureapi/internal/platform/token"
	"secureapi/internal/testutil/testdb"
)

// instance is one running copy of the real binary.
type instance struct {
	name, base, metrics string
	cmd                 *exec.Cmd
	logs                *bytes.Buffer
	done                chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startInstance(t *testing.T, bin, name string, env []string) *instance {
	t.Helper()
	addr, maddr := freeAddr(t), freeAddr(t)
	in := &instance{name: name, base: "http://" + addr, metrics: "http://" + maddr, logs: &bytes.Buffer{}, done: make(chan error, 1)}
	in.cmd = exec.Command(bin, "serve")
	in.cmd.Env = append(env, "LISTEN_ADDR="+addr, "METRICS_ADDR="+maddr, "DATA_DIR="+t.TempDir())
	in.cmd.Stdout, in.cmd.Stderr = in.logs, in.logs
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { in.done <- in.cmd.Wait() }()
	t.Cleanup(func() {
		in.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, in.logs)
		}
	})
	return in
}

func (in *instance) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-in.done:
			t.Fatalf("%s exited before it was ready: %v\n%s", in.name, err, in.logs)
		default:
		}
		if res, err := http.Get(in.base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready within 60 s\n%s", in.name, in.logs)
}

func (in *instance) stop(t *testing.T) {
	t.Helper()
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("%s did not stop cleanly on SIGTERM: %v", in.name, err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("%s did not stop within 20 s of SIGTERM", in.name)
	}
}

type client struct {
	t    *testing.T
	http *http.Client
}

func (c client) do(method, url string, body any, hdr map[string]string) (int, map[string]any) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// Two instances of the real binary on one PostgreSQL database and one Redis:
// they migrate concurrently at start, a logout on one revokes the session on
// the other at once, and a rate limit is one budget across both.
func TestTwoInstancesShareSessionsAndLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	redisURL := testdb.RedisURL(t)
	dbURL := testdb.PostgresURL(t)

	bin := filepath.Join(t.TempDir(), "api")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	seed, _, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"APP_ENV=development", "DATABASE_URL="+dbURL, "REDIS_URL="+redisURL, "JWT_SIGNING_KEY="+seed,
		"AUTO_MIGRATE=true", "COOKIE_SECURE=false", "ARGON2_MEMORY_KIB=64", "ARGON2_ITERATIONS=1",
		"TRUSTED_PROXIES=127.0.0.1/32", "RATE_LIMIT_AUTH_PER_MINUTE=6", "LOG_FORMAT=json",
	)

	// Both start at once: migrations must be applied exactly once (goose's session lock).
	var a, b *instance
	var wg sync.WaitGroup
	a, b = startInstance(t, bin, "A", env), startInstance(t, bin, "B", env)
	wg.Add(2)
	go func() { defer wg.Done(); a.waitReady(t) }()
	go func() { defer wg.Done(); b.waitReady(t) }()
	wg.Wait()
	if t.Failed() {
		return
	}

	jar, _ := cookiejar.New(nil)
	c := client{t: t, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	// Every request comes through "the proxy" (127.0.0.1) for its own client IP,
	// so earlier runs' rate-limit state in Redis never matters.
	clientIP := func() map[string]string {
		return map[string]string{"X-Forwarded-For": fmt.Sprintf("198.18.%d.%d", rand.IntN(250), 1+rand.IntN(250))}
	}

	creds := map[string]any{"email": "multi@example.com", "password": "Correct-Horse-9"}
	if st, body := c.do("POST", a.base+"/api/v1/auth/register", map[string]any{
		"email": "multi@example.com", "username": "multi", "password": "Correct-Horse-9"}, clientIP()); st != 201 {
		t.Fatalf("register on A: %d %v", st, body)
	}
	st, body := c.do("POST", a.base+"/api/v1/auth/login", creds, clientIP())
	if st != 200 {
		t.Fatalf("login on A: %d %v", st, body)
	}
	bearer := map[string]string{"Authorization": "Bearer " + body["access_token"].(string)}
	if st, _ := c.do("GET", a.base+"/api/v1/users/me", nil, bearer); st != 200 {
		t.Fatalf("me on A: %d", st)
	}
	if st, _ := c.do("GET", b.base+"/api/v1/users/me", nil, bearer); st != 200 {
		t.Fatalf("me on B with A's token: %d", st)
	}

	// The cookie jar holds A's refresh cookie for 127.0.0.1 (any port): log out on B.
	if st, body := c.do("POST", b.base+"/api/v1/auth/logout", nil, nil); st != 204 {
		t.Fatalf("logout on B: %d %v", st, body)
	}
	loggedOut := time.Now()
	for {
		st, _ := c.do("GET", a.base+"/api/v1/users/me", nil, bearer)
		if st == 401 {
			break
		}
		if time.Since(loggedOut) > time.Second {
			t.Fatalf("A still accepts the token %v after the logout on B (status %d)", time.Since(loggedOut), st)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// One client, six auth requests allowed per minute: three on A, three on B,
	// then both refuse. (Different emails, so the per-account lockout stays out of it.)
	ip := clientIP()
	attempt := func(i int) map[string]any {
		return map[string]any{"email": fmt.Sprintf("probe%d@example.com", i), "password": "Wrong-pass-1"}
	}
	for i := range 6 {
		target := a
		if i%2 == 1 {
			target = b
		}
		if st, body := c.do("POST", target.base+"/api/v1/auth/login", attempt(i), ip); st != 401 {
			t.Fatalf("attempt %d on %s: %d %v, want 401", i+1, target.name, st, body)
		}
	}
	for i, target := range []*instance{a, b} {
		st, body := c.do("POST", target.base+"/api/v1/auth/login", attempt(10+i), ip)
		if st != 429 || !strings.Contains(fmt.Sprint(body["detail"]), "Rate limit") {
			t.Fatalf("attempt %d on %s: %d %v, want the shared rate limit's 429", 7+i, target.name, st, body)
		}
	}

	// Metrics are on the internal listener, not the public one.
	res, err := http.Get(a.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(mb), `rate_limit_rejections_total{rule="auth"}`) || !strings.Contains(string(mb), "http_requests_total") {
		t.Fatalf("metrics lack request or rate-limit counters:\n%.2000s", mb)
	}
	if st, _ := c.do("GET", a.base+"/metrics", nil, nil); st != 404 {
		t.Fatalf("public listener serves /metrics: %d", st)
	}

	a.stop(t)
	b.stop(t)
}
