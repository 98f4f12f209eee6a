package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Suite 1: hostile input driven by openapi.yaml. Invariants:
//   - no 5xx, whatever arrives;
//   - every error the application sends is application/problem+json, its
//     status declared for the operation and its body valid against the spec
//     (kin-openapi's openapi3filter.ValidateResponse), with no internal text;
//   - rejected requests change nothing: a snapshot of every table (row count
//     and a hash of the content) is the same before and after. Failed
//     credential checks are recorded by design (audit events with outcome
//     "failure" and the login_throttle counters), so those rows, and the
//     audit chain head that moves with them, are left out; `api audit
//     verify` checks the chain instead. So is the mail queue (see
//     bookkeeping).
//
// Requests that Go's HTTP server refuses before any application code runs
// (malformed request lines and header fields) get its plain "400 Bad
// Request" or "431" and a closed connection; they are counted apart.
func runHostile(ctx context.Context, rn *run, engine string, res *result) error {
	dbURL, cleanup, err := rn.database(ctx, engine, "hostile")
	if err != nil {
		return err
	}
	defer cleanup()
	env := rn.instanceEnv(dbURL, "MAX_UPLOAD_BYTES=65536", "ALLOWED_HOSTS=127.0.0.1,localhost")
	srv, err := newServer("api", rn.bin, rn.tmp, env)
	if err != nil {
		return err
	}
	if err := srv.start(); err != nil {
		return err
	}
	defer srv.kill()
	if err := srv.waitReady(ctx, 60*time.Second); err != nil {
		return err
	}
	c := newClient(srv.base(), 20*time.Second, 16)
	defer c.close()

	spec, err := fetchSpec(ctx, c)
	if err != nil {
		return err
	}
	id, err := hostileSetup(ctx, rn, srv, c)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	ops := loadOps(spec)
	var cases []hcase
	for _, o := range ops {
		cases = append(cases, casesFor(o)...)
	}
	n := 12000
	if rn.short {
		n = 1500
	}
	// Every mutation is sent at least once, in the short run too.
	n = max(n, len(cases))
	rn.logf("%d operations, %d mutations, %d requests", len(ops), len(cases), n)

	snapDSN := dsn(engine, dbURL, srv)
	before, err := snapshot(ctx, engine, snapDSN, bookkeeping)
	if err != nil {
		return fmt.Errorf("snapshot before: %w", err)
	}

	h := &hostile{srv: srv, c: c, spec: spec, id: id, found: newFindings()}
	order := rn.rng.Perm(len(cases))
	var next atomic.Int64
	workers := 4
	var wg sync.WaitGroup
	deadline := time.Now().Add(15 * time.Minute)
	for w := range workers {
		g := &genCtx{rng: mrand.New(mrand.NewPCG(rn.rng.Uint64(), uint64(w))), id: id}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				hc := cases[order[i%len(cases)]]
				h.one(ctx, hc.build(g))
			}
		}()
	}
	wg.Wait()
	if sent := h.sent.Load(); sent < int64(n) {
		res.failf("only %d of %d hostile requests were sent before the time limit", sent, n)
	}

	after, err := snapshot(ctx, engine, snapDSN, bookkeeping)
	if err != nil {
		return fmt.Errorf("snapshot after: %w", err)
	}
	if d := diffSnapshots(before, after); len(d) > 0 {
		res.failf("rejected requests changed the database:\n%s\naccepted non-GET requests that may explain it:\n%s",
			strings.Join(d, "\n"), strings.Join(h.found.examples("accepted-write", 40), "\n"))
	} else {
		res.notef("database unchanged by %d hostile requests (%d tables compared; failed-login bookkeeping excluded)", h.sent.Load(), len(after))
	}

	// Names the service accepts but must clean up, after the snapshot
	// because these uploads succeed.
	h.acceptedNames(ctx, res)

	if err := srv.auditVerify(ctx); err != nil {
		res.failf("%v", err)
	}
	if lines, sample := srv.logLines(`"status":5`, 3); lines > 0 {
		res.notef("server access log shows %d 5xx answers, e.g. %s", lines, strings.Join(sample, " | "))
	}
	if lines, sample := srv.logLines("panic", 3); lines > 0 {
		res.failf("server log mentions panic %d times: %s", lines, strings.Join(sample, " | "))
	}
	if err := srv.stop(); err != nil {
		res.failf("%v", err)
	}

	res.requests = h.total.Load()
	res.faults = h.sent.Load()
	res.fiveXX = h.fiveXX.Load()
	res.notef("%d mutations of %d operations; answers: %s", len(cases), len(ops), h.statusSummary())
	if p := h.parser.Load(); p > 0 {
		res.notef("%d malformed requests refused by Go's HTTP server before the application (plain 400/431 or closed)", p)
	}
	top := 12
	if rn.verbose {
		top = 500
	}
	for _, class := range []string{"5xx", "no-answer", "not-problem", "undeclared-status", "spec", "leak", "bad-filename"} {
		if total, lines := h.found.report(class, top); total > 0 {
			res.failf("%s: %d request(s)\n%s", class, total, strings.Join(lines, "\n"))
		}
	}
	return nil
}

// bookkeeping leaves out what failed credential checks write by design, and
// the mail queue: forgot-password answers 202 to every well-formed address
// and queues a mail (or a stand-in row, so unknown addresses cost the same),
// and the per-recipient counters follow it.
func bookkeeping(table string, row map[string]string) bool {
	switch table {
	case "login_throttle", "audit_chain", "mail_outbox", "mail_recipients":
		return true
	case "audit_events":
		return row["outcome"] == "failure"
	}
	return false
}

func fetchSpec(ctx context.Context, c *apiClient) (*openapi3.T, error) {
	r, err := c.do(ctx, "GET", "/openapi.yaml", nil, nil)
	if err != nil {
		return nil, err
	}
	if r.status != 200 {
		return nil, fmt.Errorf("GET /openapi.yaml: %d", r.status)
	}
	spec, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil {
		return nil, fmt.Errorf("load the served spec: %w", err)
	}
	spec.Servers = nil
	return spec, nil
}

// hostileSetup creates the accounts the requests are made with.
func hostileSetup(ctx context.Context, rn *run, srv *server, c *apiClient) (*identities, error) {
	id := &identities{displayName: "Torture", issuer: "secureapi", audience: "secureapi",
		victimEmail: "victim@torture.example", victimUsername: "victim"}
	seed, err := base64.RawURLEncoding.DecodeString(rn.signing)
	if err != nil {
		return nil, err
	}
	id.signing = ed25519.NewKeyFromSeed(seed)
	dn := id.displayName
	u, r, err := c.register(ctx, "user@torture.example", "tuser", &dn)
	if err != nil || r.status != 201 {
		return nil, fmt.Errorf("register user: %v %v", err, statusOf(r))
	}
	id.userID = u.ID
	if _, r, err := c.register(ctx, id.victimEmail, id.victimUsername, &dn); err != nil || r.status != 201 {
		return nil, fmt.Errorf("register victim: %v %v", err, statusOf(r))
	}
	if err := createAdmin(ctx, srv, "admin@torture.example", "tadmin"); err != nil {
		return nil, err
	}
	if id.userToken, r, err = c.login(ctx, "user@torture.example"); err != nil || r.status != 200 {
		return nil, fmt.Errorf("login user: %v %v", err, statusOf(r))
	}
	if id.adminToken, r, err = c.login(ctx, "admin@torture.example"); err != nil || r.status != 200 {
		return nil, fmt.Errorf("login admin: %v %v", err, statusOf(r))
	}
	var me apiUser
	if r, err := c.doJSON(ctx, "PATCH", "/api/v1/users/me", id.adminToken, map[string]any{"display_name": dn}, &me); err != nil || r.status != 200 {
		return nil, fmt.Errorf("name admin: %v %v", err, statusOf(r))
	}
	id.adminID = me.ID
	var sessions struct {
		Items []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"items"`
	}
	if r, err := c.doJSON(ctx, "GET", "/api/v1/auth/sessions", id.userToken, nil, &sessions); err != nil || r.status != 200 {
		return nil, fmt.Errorf("sessions: %v %v", err, statusOf(r))
	}
	for _, s := range sessions.Items {
		if s.Current {
			id.userSession = s.ID
		}
	}
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if r, err := c.doJSON(ctx, "GET", "/.well-known/jwks.json", "", nil, &jwks); err != nil || r.status != 200 || len(jwks.Keys) == 0 {
		return nil, fmt.Errorf("jwks: %v %v", err, statusOf(r))
	}
	id.kid = jwks.Keys[0].Kid
	// A stored file, so the files table has content to keep unchanged.
	if _, r, err := c.upload(ctx, id.userToken, "kept.txt", textContent("kept", 300)); err != nil || r.status != 201 {
		return nil, fmt.Errorf("upload: %v %v", err, statusOf(r))
	}
	return id, nil
}

func statusOf(r *response) string {
	if r == nil {
		return "(no answer)"
	}
	return fmt.Sprintf("%d %s", r.status, truncate(string(r.body), 300))
}

type hostile struct {
	srv   *server
	c     *apiClient
	spec  *openapi3.T
	id    *identities
	found *findings

	total, sent, fiveXX, parser atomic.Int64
	statusMu                    sync.Mutex
	statuses                    map[int]int
}

func (h *hostile) statusSummary() string {
	h.statusMu.Lock()
	defer h.statusMu.Unlock()
	var codes []int
	for c := range h.statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", h.statuses[c], c))
	}
	return strings.Join(parts, " ")
}

func (h *hostile) count(status int) {
	h.statusMu.Lock()
	if h.statuses == nil {
		h.statuses = map[int]int{}
	}
	h.statuses[status]++
	h.statusMu.Unlock()
}

// one sends r and checks the answer.
func (h *hostile) one(ctx context.Context, r *hreq) {
	h.total.Add(1)
	h.sent.Add(1)
	what := r.op.id + " " + r.kind
	res, raw, err := h.send(ctx, r)
	if err != nil {
		if raw {
			h.parser.Add(1) // closed without an answer: refused at the protocol level
			return
		}
		h.found.add("no-answer", what, err.Error())
		return
	}
	h.count(res.status)
	if res.status >= 500 {
		h.fiveXX.Add(1)
		h.found.add("5xx", what, fmt.Sprintf("%d %s", res.status, truncate(string(res.body), 200)))
		return
	}
	// Go's server answers malformed requests itself, before any middleware
	// (so without the X-Request-ID every application answer has).
	if res.header.Get("X-Request-Id") == "" && (res.status == 400 || res.status == 417 || res.status == 431) {
		h.parser.Add(1)
		return
	}
	if res.status >= 400 {
		if err := isProblem(res); err != nil {
			h.found.add("not-problem", what, fmt.Sprintf("%d %v", res.status, err))
			return
		}
	}
	for _, leak := range []string{"goroutine ", "SQLSTATE", "sql:", "pgx", "sqlite", "/work/", "/tmp/", "runtime error", ".go:"} {
		if bytes.Contains(res.body, []byte(leak)) {
			h.found.add("leak", what, fmt.Sprintf("%d body contains %q: %s", res.status, leak, truncate(string(res.body), 200)))
		}
	}
	// A mangled path no longer names the operation: its 404 belongs to none.
	offRoute := res.status == 404 && offRouteCases[string(r.raw)]
	if err := h.validate(ctx, r, res); err != nil && !offRoute {
		class := "spec"
		if strings.Contains(err.Error(), "status is not supported") {
			class = "undeclared-status"
		}
		h.found.add(class, what, fmt.Sprintf("%d %s", res.status, truncate(err.Error(), 300)))
	}
	// What could have written: any accepted request of an operation whose
	// base is not known to be harmless, and changed values of one whose base
	// is harmless only as long as the values stay the same (updateMe).
	soft, known := harmless[r.op.id]
	if res.status < 300 && r.method != http.MethodGet && (!known || !soft && strings.HasPrefix(r.kind, "body/")) {
		h.found.add("accepted-write", what, fmt.Sprintf("%d %s", res.status, truncate(string(res.body), 150)))
	}
}

var offRouteCases = map[string]bool{"invalid-utf8-path": true, "raw-nul-in-path": true, "raw-space-in-path": true,
	"bad-escape-in-path": true, "fragment": true, "absolute-uri": true}

// validate checks the answer against the operation in the served spec:
// status declared, headers and body valid.
func (h *hostile) validate(ctx context.Context, r *hreq, res *response) error {
	o := r.op
	req, err := http.NewRequestWithContext(ctx, r.method, "http://torture"+r.target(), nil)
	if err != nil {
		req, _ = http.NewRequestWithContext(ctx, r.method, "http://torture"+o.path, nil)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: false}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: r.params, Options: opts,
			Route: &routers.Route{Spec: h.spec, Path: o.path, PathItem: o.item, Method: o.method, Operation: o.o},
		},
		Status: res.status, Header: res.header, Body: io.NopCloser(bytes.NewReader(res.body)), Options: opts,
	}
	return openapi3filter.ValidateResponse(ctx, in)
}

// send writes r: through Go's client, or verbatim over TCP for the
// protocol-level cases (raw reports which).
func (h *hostile) send(ctx context.Context, r *hreq) (*response, bool, error) {
	hdr := r.header.Clone()
	if !r.noAuth && r.as != "" && hdr.Get("Authorization") == "" {
		tok := h.id.userToken
		if r.as == "admin" {
			tok = h.id.adminToken
		}
		hdr.Set("Authorization", "Bearer "+tok)
	}
	body := r.payload()
	if hdr.Get("X-Torture-Content-Length") != "" {
		body = nil
		hdr.Del("X-Torture-Content-Length")
	}
	if r.raw != nil {
		return h.sendRaw(ctx, string(r.raw), r, hdr, body)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	if hdr.Get("X-Torture-Chunked") != "" {
		hdr.Del("X-Torture-Chunked")
		if body != nil {
			rd = io.MultiReader(bytes.NewReader(body)) // unknown length: sent chunked
		}
	}
	req, err := http.NewRequestWithContext(ctx, r.method, h.c.base+r.target(), rd)
	if err != nil {
		// A target Go's client will not write (e.g. a bad escape): send it raw.
		return h.sendRaw(ctx, "plain", r, hdr, body)
	}
	if host := hdr.Get("Host"); host != "" {
		req.Host = host
		hdr.Del("Host")
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	start := time.Now()
	resp, err := h.c.hc.Do(req)
	if err != nil {
		var ue interface{ Timeout() bool }
		if errors.As(err, &ue) && ue.Timeout() {
			return nil, false, fmt.Errorf("no answer within the client timeout: %w", err)
		}
		// Go's client refuses to write some hostile values (control bytes
		// in headers): those go raw.
		if strings.Contains(err.Error(), "invalid header") || strings.Contains(err.Error(), "invalid Host") {
			return h.sendRaw(ctx, "plain", r, hdr, body)
		}
		return nil, false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyRead))
	if err != nil {
		return nil, false, err
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b, dur: time.Since(start)}, false, nil
}

func (h *hostile) sendRaw(ctx context.Context, variant string, r *hreq, hdr http.Header, body []byte) (*response, bool, error) {
	var start strings.Builder
	fmt.Fprintf(&start, "%s %s HTTP/1.1\r\n", r.method, r.target())
	host := h.srv.addr
	if v := hdr.Get("Host"); v != "" {
		host = v
		hdr.Del("Host")
	}
	fmt.Fprintf(&start, "Host: %s\r\n", host)
	for k, vs := range hdr {
		for _, v := range vs {
			fmt.Fprintf(&start, "%s: %s\r\n", k, v)
		}
	}
	start.WriteString("Connection: close\r\n")
	var msg []byte
	if variant == "plain" {
		var b bytes.Buffer
		b.WriteString(start.String())
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
		b.Write(body)
		msg = b.Bytes()
	} else {
		msg = rawVariant(variant, start.String(), r, body)
	}
	res, err := rawRoundTrip(ctx, h.srv.addr, msg, r.method, 20*time.Second)
	return res, true, err
}

// rawRoundTrip writes msg on a new connection and reads one response.
func rawRoundTrip(ctx context.Context, addr string, msg []byte, method string, timeout time.Duration) (*response, error) {
	conn, err := netDialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	start := time.Now()
	// The server may answer and close before everything is written (a
	// request line it refuses, a body over the limit): read regardless.
	go func() { conn.Write(msg) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("no answer within %s", timeout)
		}
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyRead))
	return &response{status: resp.StatusCode, header: resp.Header, body: b, dur: time.Since(start)}, nil
}

// acceptedNames uploads valid content under hostile file names: the upload
// must succeed (or be refused as a client error, never a 5xx) and the stored
// name must be safe to show: valid UTF-8, no control or bidirectional
// characters, no path, at most 255 bytes, valid against the spec.
func (h *hostile) acceptedNames(ctx context.Context, res *result) {
	names := []string{
		"a\x00b.txt", "\x01\x1b[31mred.txt", `..\..\windows\win.ini.txt`, "../../etc/passwd.txt",
		"\u202etxt.exe.txt", strings.Repeat("ü", 300) + ".txt", "\xff\xfe.txt", ".txt", "CON.txt",
		"  spaced  .txt", `a"b";c.txt`, "%00.txt", "zero\u200bwidth.txt", "e\u0301.txt", "\t.txt",
		strings.Repeat("a", 5000) + ".txt", "a\u2028b.txt", "/", "..", "\u0085next.txt",
	}
	route := func(id string) *hreq {
		for _, o := range loadOps(h.spec) {
			if o.id == id {
				return &hreq{op: o, method: o.method, path: o.path, params: map[string]string{}}
			}
		}
		return nil
	}
	up := route("uploadFile")
	if up == nil {
		res.failf("the spec has no uploadFile operation")
		return
	}
	var uploaded []string
	for _, name := range names {
		h.total.Add(1)
		body, ct := multipartBody(name, []byte("hello from the torture suite\n"))
		r, err := h.c.do(ctx, "POST", "/api/v1/files", http.Header{"Content-Type": {ct}, "Authorization": {"Bearer " + h.id.userToken}}, body)
		if err != nil {
			h.found.add("no-answer", "uploadFile hostile-name", err.Error())
			continue
		}
		h.count(r.status)
		if r.status >= 500 {
			h.fiveXX.Add(1)
			h.found.add("5xx", "uploadFile hostile-name", fmt.Sprintf("%q: %d %s", name, r.status, truncate(string(r.body), 200)))
			continue
		}
		if err := h.validate(ctx, up, r); err != nil {
			h.found.add("spec", "uploadFile hostile-name", fmt.Sprintf("%q: %d %v", name, r.status, err))
		}
		if r.status != 201 {
			if err := isProblem(r); err != nil {
				h.found.add("not-problem", "uploadFile hostile-name", err.Error())
			}
			continue
		}
		var f apiFile
		json.Unmarshal(r.body, &f)
		uploaded = append(uploaded, f.ID)
		if msg := unsafeName(f.Filename); msg != "" {
			h.found.add("bad-filename", "uploadFile hostile-name", fmt.Sprintf("%q stored as %q: %s", name, f.Filename, msg))
		}
	}
	for _, fid := range uploaded {
		h.total.Add(1)
		r, err := h.c.do(ctx, "GET", "/api/v1/files/"+fid+"/content", http.Header{"Authorization": {"Bearer " + h.id.userToken}}, nil)
		if err != nil || r.status != 200 {
			h.found.add("no-answer", "downloadFile hostile-name", fmt.Sprintf("%v %s", err, statusOf(r)))
			continue
		}
		cd := r.header.Get("Content-Disposition")
		if strings.ContainsAny(cd, "\r\n\x00") || !utf8.ValidString(cd) || !strings.HasPrefix(cd, "attachment") {
			h.found.add("bad-filename", "downloadFile hostile-name", fmt.Sprintf("Content-Disposition %q", cd))
		}
		h.total.Add(1)
		if r, err := h.c.do(ctx, "DELETE", "/api/v1/files/"+fid, http.Header{"Authorization": {"Bearer " + h.id.userToken}}, nil); err != nil || r.status != 204 {
			h.found.add("no-answer", "deleteFile hostile-name", fmt.Sprintf("%v %s", err, statusOf(r)))
		}
	}
	res.notef("%d hostile file names: %d stored with safe names, then deleted", len(names), len(uploaded))
}

func unsafeName(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "not UTF-8"
	case len(s) > 255:
		return fmt.Sprintf("%d bytes", len(s))
	case s == "" || s == "." || s == "..":
		return "empty or a directory name"
	case strings.ContainsAny(s, `/\`):
		return "contains a path separator"
	}
	for _, r := range s {
		if unicode.IsControl(r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C {
			return fmt.Sprintf("contains %U", r)
		}
	}
	return ""
}

// findings groups problems by class and request kind, with one example each.
type findings struct {
	mu sync.Mutex
	m  map[string]map[string]*finding
}

type finding struct {
	n       int
	example string
}

func newFindings() *findings { return &findings{m: map[string]map[string]*finding{}} }

func (f *findings) add(class, what, example string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m[class] == nil {
		f.m[class] = map[string]*finding{}
	}
	x := f.m[class][what]
	if x == nil {
		x = &finding{example: example}
		f.m[class][what] = x
	}
	x.n++
}

// report returns the total of class and its most frequent kinds.
func (f *findings) report(class string, top int) (int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	total := 0
	type kv struct {
		what string
		*finding
	}
	var all []kv
	for w, x := range f.m[class] {
		total += x.n
		all = append(all, kv{w, x})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].what < all[j].what
	})
	var lines []string
	for i, x := range all {
		if i == top {
			lines = append(lines, fmt.Sprintf("... and %d more kinds", len(all)-top))
			break
		}
		lines = append(lines, fmt.Sprintf("%5d× %s: %s", x.n, x.what, x.example))
	}
	return total, lines
}

func (f *findings) examples(class string, top int) []string {
	_, lines := f.report(class, top)
	if len(lines) == 0 {
		return []string{"(none)"}
	}
	return lines
}
