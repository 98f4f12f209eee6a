package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// started holds every process this program started, so that each one is
// stopped on every way out: a suite's end, a failed invariant, a panic or
// Ctrl-C. Processes are stopped by their own pid, never by name.
var started = struct {
	sync.Mutex
	m map[*exec.Cmd]struct{}
}{m: map[*exec.Cmd]struct{}{}}

func track(c *exec.Cmd) {
	started.Lock()
	started.m[c] = struct{}{}
	started.Unlock()
}

func untrack(c *exec.Cmd) {
	started.Lock()
	delete(started.m, c)
	started.Unlock()
}

// killAll stops whatever is still running (the last resort on exit).
func killAll() {
	started.Lock()
	defer started.Unlock()
	for c := range started.m {
		if c.Process != nil {
			c.Process.Kill()
		}
		delete(started.m, c)
	}
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// server is one copy of the real api binary. Its log (standard output and
// error, appended across restarts) goes to a file in its data directory.
type server struct {
	name    string
	bin     string
	dataDir string
	addr    string
	env     []string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// newServer prepares (but does not start) an instance listening on a fresh
// loopback port with its own data directory under dir.
func newServer(name, bin, dir string, env []string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, name)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	s := &server{name: name, bin: bin, dataDir: data, addr: addr, logPath: filepath.Join(data, "server.log")}
	s.env = append(append([]string{}, env...), "LISTEN_ADDR="+addr, "DATA_DIR="+data)
	return s, nil
}

func (s *server) base() string { return "http://" + s.addr }

// start runs the binary. The working directory is the data directory, so no
// developer's ./.env is read.
func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("%s already running", s.name)
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, "serve")
	cmd.Env = s.env
	cmd.Dir = s.dataDir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	track(cmd)
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	go func() {
		err := cmd.Wait()
		logf.Close()
		untrack(cmd)
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(done)
	}()
	return nil
}

func (s *server) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// running reports whether the process is alive.
func (s *server) running() bool {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// waitReady polls /readyz until it answers 200 or timeout passes.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		if !s.running() {
			return fmt.Errorf("%s exited before it was ready: %v\n%s", s.name, s.exitErr(), s.logTail(20))
		}
		if res, err := hc.Get(s.base() + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready within %s\n%s", s.name, timeout, s.logTail(20))
}

func (s *server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// kill sends SIGKILL: no shutdown code runs, like a power cut for the process.
func (s *server) kill() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) did not die within 10 s of SIGKILL", s.name, cmd.Process.Pid)
	}
	s.mu.Lock()
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	return nil
}

// stop asks for a graceful shutdown (SIGTERM) and kills after 20 s.
func (s *server) stop() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case <-done:
		if e := s.exitErr(); e != nil {
			err = fmt.Errorf("%s did not stop cleanly: %v", s.name, e)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		err = fmt.Errorf("%s did not stop within 20 s of SIGTERM", s.name)
	}
	s.mu.Lock()
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	return err
}

// logLines returns the lines of the log containing substr (at most max).
func (s *server) logLines(substr string, max int) (n int, sample []string) {
	f, err := os.Open(s.logPath)
	if err != nil {
		return 0, nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			n++
			if len(sample) < max {
				sample = append(sample, truncate(sc.Text(), 400))
			}
		}
	}
	return n, sample
}

func (s *server) logTail(lines int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// cli runs an api subcommand with the instance's environment.
func (s *server) cli(ctx context.Context, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = s.env
	cmd.Dir = s.dataDir
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// auditVerify runs `api audit verify` and reports whether the chain is intact.
func (s *server) auditVerify(ctx context.Context) error {
	out, err := s.cli(ctx, "", "audit", "verify")
	if err != nil {
		return fmt.Errorf("api audit verify: %v: %s", err, out)
	}
	if !strings.Contains(out, "intact") {
		return fmt.Errorf("api audit verify: %s", out)
	}
	return nil
}

// openFDs counts the process's open file descriptors.
func openFDs(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	return len(ents), nil
}

// fdUse splits the process's descriptors into those of its database
// (connection pool sockets to dbPort, SQLite files) and all others, and
// describes the others ("socket", or the file's path).
func fdUse(pid int, dbPort string) (db, other int, targets map[string]int) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	dbInodes := socketsTo(pid, dbPort)
	targets = map[string]int{}
	for _, e := range ents {
		t, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		inode, isSocket := strings.CutPrefix(t, "socket:[")
		switch {
		case isSocket && dbInodes[strings.TrimSuffix(inode, "]")],
			strings.Contains(filepath.Base(t), "app.db"):
			db++
			continue
		case isSocket:
			t = "socket"
		}
		other++
		targets[t]++
	}
	return db, other, targets
}

// socketsTo returns the inodes of pid's TCP sockets whose remote port is port.
func socketsTo(pid int, port string) map[string]bool {
	out := map[string]bool{}
	p, err := strconv.Atoi(port)
	if err != nil {
		return out
	}
	want := fmt.Sprintf(":%04X", p)
	for _, f := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) > 9 && strings.HasSuffix(fs[2], want) {
				out[fs[9]] = true
			}
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// buildBinary compiles ./cmd/api once into dir.
func buildBinary(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "api")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/api")
	cmd.Dir = root
	// The caller's environment as is, so the build cache that go test, go
	// vet and go run filled is used.
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/api: %v\n%s", err, out)
	}
	return bin, nil
}

// repoRoot finds the module root (the directory with go.mod) from the
// working directory upwards.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module secureapi")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the secureapi module (no go.mod found)")
		}
		dir = parent
	}
}
