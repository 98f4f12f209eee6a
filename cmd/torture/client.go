package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"sort"
	"strings"
	"sync"
	"time"
)

var netDialer = net.Dialer{Timeout: 2 * time.Second}

// maxBodyRead bounds what is read of any response body.
const maxBodyRead = 4 << 20

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
	dur    time.Duration
}

// apiClient talks to one instance.
type apiClient struct {
	base string
	hc   *http.Client
}

func newClient(base string, timeout time.Duration, conns int) *apiClient {
	tr := &http.Transport{
		DialContext:         netDialer.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &apiClient{base: base, hc: &http.Client{Timeout: timeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *apiClient) close() { c.hc.CloseIdleConnections() }

func (c *apiClient) do(ctx context.Context, method, path string, hdr http.Header, body []byte) (*response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	start := time.Now()
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBodyRead))
	if err != nil {
		return nil, err
	}
	return &response{status: res.StatusCode, header: res.Header, body: b, dur: time.Since(start)}, nil
}

// doJSON sends v as JSON (nil: no body) with an optional bearer token.
func (c *apiClient) doJSON(ctx context.Context, method, path, token string, v any, out any) (*response, error) {
	hdr := http.Header{}
	var body []byte
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		body = b
		hdr.Set("Content-Type", "application/json")
	}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	res, err := c.do(ctx, method, path, hdr, body)
	if err != nil {
		return nil, err
	}
	if out != nil && res.status < 300 && len(res.body) > 0 {
		if err := json.Unmarshal(res.body, out); err != nil {
			return res, fmt.Errorf("%s %s: decode %d answer: %w", method, path, res.status, err)
		}
	}
	return res, nil
}

const testPassword = "Correct-Horse-9"

type apiUser struct {
	ID          string  `json:"id"`
	Email       string  `json:"email"`
	Username    string  `json:"username"`
	DisplayName *string `json:"display_name"`
}

func (c *apiClient) register(ctx context.Context, email, username string, displayName *string) (apiUser, *response, error) {
	body := map[string]any{"email": email, "username": username, "password": testPassword}
	if displayName != nil {
		body["display_name"] = *displayName
	}
	var u apiUser
	res, err := c.doJSON(ctx, "POST", "/api/v1/auth/register", "", body, &u)
	return u, res, err
}

func (c *apiClient) login(ctx context.Context, email string) (string, *response, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	res, err := c.doJSON(ctx, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": testPassword}, &tok)
	return tok.AccessToken, res, err
}

type apiFile struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// multipartBody builds a well-formed upload body with one part named file.
func multipartBody(filename string, content []byte) (body []byte, contentType string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filename))
	h.Set("Content-Type", "application/octet-stream")
	pw, _ := w.CreatePart(h)
	pw.Write(content)
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

func (c *apiClient) upload(ctx context.Context, token, filename string, content []byte) (apiFile, *response, error) {
	body, ct := multipartBody(filename, content)
	hdr := http.Header{"Content-Type": {ct}, "Authorization": {"Bearer " + token}}
	res, err := c.do(ctx, "POST", "/api/v1/files", hdr, body)
	var f apiFile
	if err == nil && res.status == 201 {
		err = json.Unmarshal(res.body, &f)
	}
	return f, res, err
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// textContent is an upload the service accepts (plain text), unique per seed.
func textContent(seed string, size int) []byte {
	var b bytes.Buffer
	for b.Len() < size {
		fmt.Fprintf(&b, "line %d of %s: the quick brown fox jumps over the lazy dog\n", b.Len(), seed)
	}
	return b.Bytes()[:size]
}

// latencies collects request durations for percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) percentile(p float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), l.d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return s[i]
}

// isProblem reports whether the response is an RFC 9457 problem document
// whose status matches the HTTP status.
func isProblem(r *response) error {
	ct := r.header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(mt) != "application/problem+json" {
		return fmt.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		return fmt.Errorf("problem body does not decode: %v", err)
	}
	if p.Status != r.status || p.Type == "" || p.Title == "" {
		return fmt.Errorf("problem document %s does not match status %d", truncate(string(r.body), 200), r.status)
	}
	return nil
}
