// Command loadupload measures one large upload against a running server on
// this machine: it logs in (registering the account first with -register),
// streams an N-MiB text file generated on the fly (never held in memory) as
// multipart/form-data to POST /api/v1/files, checks the SHA-256 the server
// reports, and prints the throughput. With -pid it also reads the server's
// resident memory from /proc/<pid>/status before, during and after the upload,
// which shows whether the server buffers upload bodies.
//
// The server needs MAX_UPLOAD_BYTES (and UPLOAD_QUOTA_BYTES) of at least the
// upload size, e.g. for the default 100 MiB:
//
//	DATA_DIR=$(mktemp -d) MAX_UPLOAD_BYTES=209715200 UPLOAD_QUOTA_BYTES=1073741824 go run ./cmd/api &
//	LOADUPLOAD_PASSWORD='Correct-Horse-9' go run ./cmd/loadupload -register -pid $(pgrep -n api)
//
// The password comes from LOADUPLOAD_PASSWORD (never a flag, which other
// users could read in the process list). Only loopback addresses are dialled.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadupload:", err)
		os.Exit(1)
	}
}

type options struct {
	base     *url.URL
	email    string
	username string
	password string
	register bool
	mib      int64
	name     string
	chunked  bool
	pid      int
}

func parse(args []string, getenv func(string) string) (options, error) {
	fs := flag.NewFlagSet("loadupload", flag.ContinueOnError)
	rawURL := fs.String("url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	o := options{}
	fs.StringVar(&o.email, "email", "loadupload@example.com", "account email")
	fs.StringVar(&o.username, "username", "loadupload", "account username (with -register)")
	fs.BoolVar(&o.register, "register", false, "register the account first (a 409 for an existing account is fine)")
	fs.Int64Var(&o.mib, "mib", 100, "upload size in MiB")
	fs.StringVar(&o.name, "name", "load.txt", "file name sent with the upload")
	fs.BoolVar(&o.chunked, "chunked", false, "send the body chunked (no Content-Length)")
	fs.IntVar(&o.pid, "pid", 0, "server process id whose memory to report (Linux /proc)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.mib <= 0 {
		return o, errors.New("-mib must be positive")
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return o, fmt.Errorf("-url %q is not an http(s) base URL", *rawURL)
	}
	o.base = u
	o.password = getenv("LOADUPLOAD_PASSWORD")
	if o.password == "" {
		return o, errors.New("set LOADUPLOAD_PASSWORD to the account's password")
	}
	return o, nil
}

// loopbackOnly refuses to connect anywhere but this machine, whatever a
// name resolves to.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to connect to %s: only loopback addresses are allowed", address)
	}
	return nil
}

func newClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: loopbackOnly}
	tr := &http.Transport{DialContext: d.DialContext, ForceAttemptHTTP2: false, DisableCompression: true}
	return &http.Client{Transport: tr}
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	o, err := parse(args, getenv)
	if err != nil {
		return err
	}
	c := newClient()
	if o.register {
		if err := register(ctx, c, o); err != nil {
			return err
		}
	}
	token, err := login(ctx, c, o)
	if err != nil {
		return err
	}

	before, _ := readMem(o.pid)
	var sampler *memSampler
	if o.pid > 0 {
		sampler = startSampler(o.pid, 20*time.Millisecond)
	}
	size := o.mib << 20
	start := time.Now()
	res, clientSum, err := upload(ctx, c, o, token, size)
	elapsed := time.Since(start)
	peak := int64(0)
	if sampler != nil {
		peak = sampler.stop()
	}
	if err != nil {
		return err
	}
	after, _ := readMem(o.pid)

	fmt.Fprintf(out, "uploaded      %d bytes (%d MiB) as %q in %s\n", size, o.mib, o.name, elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "throughput    %.1f MiB/s\n", float64(size)/(1<<20)/elapsed.Seconds())
	fmt.Fprintf(out, "server        %s id=%s type=%s size=%d\n", "201", res.ID, res.ContentType, res.Size)
	match := "match"
	if res.SHA256 != clientSum || res.Size != size {
		match = "MISMATCH"
	}
	fmt.Fprintf(out, "sha256        %s (%s)\n", res.SHA256, match)
	if o.pid > 0 {
		fmt.Fprintf(out, "server RSS    before %s, peak while uploading %s, after %s\n", kib(before.rss), kib(peak), kib(after.rss))
		fmt.Fprintf(out, "server VmHWM  before %s, after %s (lifetime peak resident set)\n", kib(before.hwm), kib(after.hwm))
	}
	if match != "match" {
		return errors.New("the server stored different bytes")
	}
	return nil
}

func kib(n int64) string {
	if n == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/1024)
}

func endpoint(o options, path string) string {
	u := *o.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	return u.String()
}

func postJSON(ctx context.Context, c *http.Client, o options, path string, body any) (*http.Response, []byte, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint(o, path), bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res, rb, err
}

func register(ctx context.Context, c *http.Client, o options) error {
	res, body, err := postJSON(ctx, c, o, "/api/v1/auth/register", map[string]string{
		"email": o.email, "username": o.username, "password": o.password,
	})
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusConflict {
		return fmt.Errorf("register: %s: %s", res.Status, body)
	}
	return nil
}

func login(ctx context.Context, c *http.Client, o options) (string, error) {
	res, body, err := postJSON(ctx, c, o, "/api/v1/auth/login", map[string]string{"email": o.email, "password": o.password})
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login: %s: %s", res.Status, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("login: unexpected answer %s", body)
	}
	return tr.AccessToken, nil
}

type fileResponse struct {
	ID          string `json:"id"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// upload streams a multipart body: part header, size generated bytes, closing
// boundary, with an exact Content-Length unless -chunked.
func upload(ctx context.Context, c *http.Client, o options, token string, size int64) (fileResponse, string, error) {
	boundary := rand.Text()
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if err := mw.SetBoundary(boundary); err != nil {
		return fileResponse{}, "", err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, o.name))
	h.Set("Content-Type", "text/plain")
	if _, err := mw.CreatePart(h); err != nil {
		return fileResponse{}, "", err
	}
	tail := "\r\n--" + boundary + "--\r\n"
	sum := sha256.New()
	gen := io.TeeReader(&textGen{left: size}, sum)
	body := io.MultiReader(bytes.NewReader(head.Bytes()), gen, strings.NewReader(tail))

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint(o, "/api/v1/files"), body)
	if err != nil {
		return fileResponse{}, "", err
	}
	if !o.chunked {
		req.ContentLength = int64(head.Len()) + size + int64(len(tail))
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		return fileResponse{}, "", fmt.Errorf("upload: %w", err)
	}
	defer res.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusCreated {
		return fileResponse{}, "", fmt.Errorf("upload: %s: %s", res.Status, rb)
	}
	var fr fileResponse
	if err := json.Unmarshal(rb, &fr); err != nil {
		return fileResponse{}, "", fmt.Errorf("upload: unexpected answer %s", rb)
	}
	return fr, hex.EncodeToString(sum.Sum(nil)), nil
}

// textGen produces left bytes of numbered 64-byte text lines: plain text that
// passes the content rules, made on demand.
type textGen struct {
	left int64
	line int64
	buf  []byte
}

func (g *textGen) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && g.left > 0 {
		if len(g.buf) == 0 {
			g.line++
			g.buf = fmt.Appendf(g.buf[:0], "line %010d of a generated upload for throughput tests ....\n", g.line)
		}
		k := copy(p[n:], g.buf[:min(int64(len(g.buf)), g.left)])
		g.buf = g.buf[k:]
		n += k
		g.left -= int64(k)
	}
	return n, nil
}

type mem struct{ rss, hwm int64 } // KiB

// readMem reads VmRSS and VmHWM of pid from /proc (zero values without -pid).
func readMem(pid int) (mem, error) {
	if pid <= 0 {
		return mem{}, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return mem{}, err
	}
	var m mem
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.rss = n
		case "VmHWM":
			m.hwm = n
		}
	}
	return m, nil
}

type memSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	peak int64
}

func startSampler(pid int, every time.Duration) *memSampler {
	s := &memSampler{done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if m, err := readMem(pid); err == nil && m.rss > s.peak {
				s.peak = m.rss
			}
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *memSampler) stop() int64 {
	close(s.done)
	s.wg.Wait()
	return s.peak
}
