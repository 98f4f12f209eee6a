package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
)

// The hostile-input generator. Every operation of openapi.yaml gets a
// harmless base request (one that changes nothing even if accepted: a taken
// email for register, a wrong password for password checks, ids that do not
// exist, content the upload rules refuse) and a catalogue of mutations of its
// body, parameters, headers, credentials and framing.
//
// A "hard" mutation makes the request invalid whatever the base, so it is
// applied to every operation, including ones this generator knows nothing
// about (new endpoints are covered as soon as they are in the spec). A "soft"
// mutation may legitimately be accepted (an unknown header, a tab in a
// display name), so it is applied only where the generator knows that an
// accepted request writes nothing.

// op is one operation of the spec.
type op struct {
	id      string
	method  string
	path    string
	item    *openapi3.PathItem
	o       *openapi3.Operation
	secured bool
	params  []*openapi3.Parameter
	json    *openapi3.Schema // application/json request body
	multi   bool             // multipart/form-data request body
	// softHeader: the base request changes nothing even when accepted, so
	// mutations that may be accepted (headers, extra parameters) are safe.
	softHeader bool
	// softValue: the same holds when a body value is replaced by another
	// acceptable one.
	softValue bool
}

// harmless lists the operations whose base request (below) writes nothing
// even when accepted, with whether a changed body value keeps it so.
var harmless = map[string]bool{
	"register": true, "login": true, "forgotPassword": true, "resetPassword": true,
	"changePassword": true, "deleteMe": true, "updateUser": true, "updateMe": false,
	"refreshToken": true, "logout": true, "revokeSession": true, "deleteUser": true,
	"deleteFile": true, "uploadFile": true,
}

func loadOps(spec *openapi3.T) []*op {
	var ops []*op
	for _, path := range spec.Paths.InMatchingOrder() {
		item := spec.Paths.Value(path)
		for method, o := range item.Operations() {
			x := &op{id: o.OperationID, method: method, path: path, item: item, o: o}
			sec := spec.Security
			if o.Security != nil {
				sec = *o.Security
			}
			for _, req := range sec {
				if len(req) > 0 {
					x.secured = true
				}
			}
			seen := map[string]bool{}
			for _, list := range []openapi3.Parameters{o.Parameters, item.Parameters} {
				for _, p := range list {
					if p.Value != nil && !seen[p.Value.In+p.Value.Name] {
						seen[p.Value.In+p.Value.Name] = true
						x.params = append(x.params, p.Value)
					}
				}
			}
			if rb := o.RequestBody; rb != nil && rb.Value != nil {
				if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					x.json = mt.Schema.Value
				}
				if rb.Value.Content.Get("multipart/form-data") != nil {
					x.multi = true
				}
			}
			soft, known := harmless[x.id]
			switch {
			case method == http.MethodGet:
				x.softHeader, x.softValue = true, true
			case known:
				x.softHeader, x.softValue = true, soft
			}
			ops = append(ops, x)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].id < ops[j].id })
	return ops
}

// identities are the accounts and credentials requests are made with.
type identities struct {
	userToken, adminToken string
	userID, adminID       string
	userSession           string
	victimEmail           string
	victimUsername        string
	displayName           string
	signing               ed25519.PrivateKey
	kid                   string
	issuer, audience      string
}

// field is one member of a JSON object body, its value already encoded
// (possibly as something that is not valid JSON on purpose).
type field struct {
	key string
	raw []byte
}

// hreq is one hostile request.
type hreq struct {
	op      *op
	kind    string
	method  string
	path    string // escaped path
	query   []string
	header  http.Header
	fields  []field // JSON object body, unless body is set
	body    []byte
	bodySet bool
	raw     []byte // protocol-level request sent verbatim over TCP
	as      string // "user" or "admin": the bearer token added when no Authorization is set
	noAuth  bool
	params  map[string]string
}

func (r *hreq) target() string {
	if len(r.query) == 0 {
		return r.path
	}
	return r.path + "?" + strings.Join(r.query, "&")
}

func (r *hreq) payload() []byte {
	if r.bodySet {
		return r.body
	}
	if r.fields == nil {
		return nil
	}
	return encodeObject(r.fields)
}

func encodeObject(fs []field) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonStr(f.key))
		b.WriteByte(':')
		b.Write(f.raw)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// jsonStr encodes s as a JSON string, escaping control characters but
// keeping bytes that are not UTF-8 as they are (encoding/json would replace them).
func jsonStr(s string) []byte {
	var b bytes.Buffer
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.Bytes()
}

// rawJSONStr is jsonStr without escaping control characters: not valid JSON
// when s has any.
func rawJSONStr(s string) []byte {
	s = strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`)
	return []byte(`"` + s + `"`)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (r *hreq) set(key string, raw []byte) {
	for i := range r.fields {
		if r.fields[i].key == key {
			r.fields[i].raw = raw
			return
		}
	}
	r.fields = append(r.fields, field{key, raw})
}

func (r *hreq) del(key string) {
	r.fields = slices.DeleteFunc(r.fields, func(f field) bool { return f.key == key })
}

func (r *hreq) setBody(b []byte) {
	r.body, r.bodySet = b, true
}

// genCtx builds requests; one per worker (the random source is not shared).
type genCtx struct {
	rng *mrand.Rand
	id  *identities
}

func (g *genCtx) nobody() string {
	return fmt.Sprintf("nobody-%d@example.invalid", g.rng.Uint64())
}

// base is op's harmless request.
func (g *genCtx) base(o *op) *hreq {
	r := &hreq{op: o, kind: "base", method: o.method, header: http.Header{}, params: map[string]string{}}
	path := o.path
	for _, p := range o.params {
		if p.In != "path" {
			continue
		}
		v := uuid.NewString()
		if s := p.Schema; s != nil && s.Value != nil && s.Value.Format != "uuid" {
			v = "x" + strconv.Itoa(g.rng.IntN(1000))
		}
		r.params[p.Name] = v
		path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(v))
	}
	r.path = path
	if o.secured {
		r.as = "user"
		if g.rng.IntN(2) == 0 {
			r.as = "admin"
		}
	}
	if o.json != nil {
		r.header.Set("Content-Type", "application/json")
		r.fields = g.baseFields(o)
	}
	if o.multi {
		body, ct := multipartBody("setup.exe", mzContent())
		r.setBody(body)
		r.header.Set("Content-Type", ct)
	}
	return r
}

func (g *genCtx) baseFields(o *op) []field {
	id := g.id
	switch o.id {
	case "register":
		return []field{{"email", mustJSON(id.victimEmail)}, {"username", mustJSON(id.victimUsername)},
			{"password", mustJSON(testPassword)}, {"display_name", mustJSON(id.displayName)}}
	case "login":
		return []field{{"email", mustJSON(g.nobody())}, {"password", mustJSON("Wrong-pass-1")}}
	case "forgotPassword":
		return []field{{"email", mustJSON(g.nobody())}}
	case "resetPassword":
		return []field{{"token", mustJSON(fmt.Sprintf("bogus-%d", g.rng.Uint64()))}, {"new_password", mustJSON(testPassword)}}
	case "updateMe", "updateUser":
		return []field{{"display_name", mustJSON(id.displayName)}}
	case "changePassword":
		return []field{{"current_password", mustJSON("Wrong-pass-1")}, {"new_password", mustJSON("Another-Horse-9")}}
	case "deleteMe":
		return []field{{"password", mustJSON("Wrong-pass-1")}}
	}
	// An operation this generator does not know: its required fields with
	// valid values. Only hard mutations are applied to it.
	var fs []field
	for _, name := range sortedProps(o.json) {
		if slices.Contains(o.json.Required, name) {
			fs = append(fs, field{name, mustJSON(g.validValue(o.json.Properties[name].Value))})
		}
	}
	return fs
}

func sortedProps(s *openapi3.Schema) []string {
	if s == nil {
		return nil
	}
	var n []string
	for k := range s.Properties {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func is(s *openapi3.Schema, t string) bool { return s != nil && s.Type != nil && s.Type.Is(t) }

func (g *genCtx) validValue(s *openapi3.Schema) any {
	if s == nil {
		return "x"
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	switch {
	case is(s, "string"):
		switch s.Format {
		case "email":
			return g.nobody()
		case "uuid":
			return uuid.NewString()
		case "date-time":
			return time.Now().UTC().Format(time.RFC3339)
		case "password":
			return testPassword
		}
		if ex, ok := s.Example.(string); ok {
			return ex
		}
		return strings.Repeat("a", max(int(s.MinLength), 3))
	case is(s, "integer"), is(s, "number"):
		if s.Min != nil {
			return *s.Min
		}
		return 1
	case is(s, "boolean"):
		return false
	case is(s, "array"):
		return []any{}
	}
	return map[string]any{}
}

// hcase is one mutation of one operation.
type hcase struct {
	op    *op
	kind  string
	build func(g *genCtx) *hreq
}

func mzContent() []byte {
	b := make([]byte, 4096)
	rand.Read(b)
	copy(b, "MZ\x90\x00\x03\x00\x00\x00")
	return b
}

// Hostile values.
var (
	c0Hard      = []byte{0x01, 0x02, 0x07, 0x08, 0x0b, 0x0c, 0x0e, 0x1b, 0x1f}
	invalidUTF8 = []string{"\xff", "\xfe\xff", "\xc3\x28", "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf", "\xf8\x88\x80\x80\x80"}
	softStrings = []string{
		"tab\there", "new\nline", "carriage\rreturn", "\u202eevil\u202c", "zero\u200bwidth", "emoji 😀🎉",
		"e\u0301 nfd", "' OR '1'='1", "<script>alert(1)</script>", "${jndi:ldap://x}", "../../etc/passwd",
		"%00%0d%0a", "\uFEFFbom", "\uFFFDreplacement", "\U0010FFFF",
	}
	badIDs = []string{
		"not-a-uuid", "%00", "%01", "0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b1", strings.Repeat("a", 300),
		"..%2F..%2Fetc%2Fpasswd", "%7B0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10%7D", "%FF%FE",
		"0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10%00", "0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10%20",
		"-1", "0", "%E2%80%AE", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "0192f6a46a8e7cc19a553f7c2d6e8b10",
		"0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10-0192f6a4", "%27%20OR%201%3D1--",
	}
	softIDs = []string{
		"00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
		"0192F6A4-6A8E-7CC1-9A55-3F7C2D6E8B10", "%30192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b1",
	}
	badInts      = []string{"0", "-1", "101", "abc", "1.5", "1e400", "99999999999999999999", "", "%00", "0x10", "%205", "5%00", "-0", "1%2C2", "%EF%BC%95"}
	badCursors   = []string{"-1", "0", "01", "abc", "AAAA", "%27%20OR%201%3D1%20--", "9223372036854775808", "1e3", "%201", "%00", "%FF%FE", "eyJpZCI6MX0", "0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b1", "%25"}
	badBools     = []string{"maybe", "2", "", "%00", "yes%00", "t%FF"}
	badDates     = []string{"yesterday", "2026-13-45T00:00:00Z", "%00", "2026-01-01", "0000-00-00T00:00:00Z", "99999-01-01T00:00:00Z", "2026-01-01T00:00:00%2B99:99", "1e9"}
	badEnums     = []string{"root", "", "%00", "admin%00", "ADMIN%FF", "user%20"}
	badEmails    = []string{"not-an-email", "a@", "@b", "a@b@c", "a b@c.d", "a@b c", "<a@b>", "a@b\x00c"}
	wrongTypes   = [][]byte{[]byte("123"), []byte("true"), []byte("[]"), []byte("{}"), []byte("null"), []byte("1.5"), []byte(`["a"]`), []byte(`{"$ne":null}`)}
	badBoolTypes = [][]byte{[]byte(`"true"`), []byte("1"), []byte("0"), []byte("null"), []byte("[]"), []byte(`"\u0000"`)}
)

// casesFor lists every mutation of o.
func casesFor(o *op) []hcase {
	var cs []hcase
	add := func(kind string, f func(g *genCtx, r *hreq)) {
		cs = append(cs, hcase{op: o, kind: kind, build: func(g *genCtx) *hreq {
			r := g.base(o)
			r.kind = kind
			f(g, r)
			return r
		}})
	}
	addAuthCases(o, add)
	addParamCases(o, add)
	if o.json != nil {
		addJSONCases(o, add)
	}
	if o.multi {
		addMultipartCases(o, add)
	}
	addHeaderCases(o, add)
	addRawCases(o, add)
	return cs
}

func bearer(r *hreq, v string) {
	r.noAuth = true
	if v != "" {
		r.header.Set("Authorization", v)
	}
}

func (g *genCtx) token(as string) string {
	if as == "admin" {
		return g.id.adminToken
	}
	return g.id.userToken
}

func addAuthCases(o *op, add func(string, func(*genCtx, *hreq))) {
	if !o.secured {
		if o.softHeader {
			add("auth/unneeded-token", func(g *genCtx, r *hreq) { bearer(r, "Bearer "+g.id.userToken) })
			add("auth/unneeded-garbage", func(g *genCtx, r *hreq) { bearer(r, "Bearer \xff\xfe garbage") })
		}
		return
	}
	add("auth/none", func(g *genCtx, r *hreq) { bearer(r, "") })
	add("auth/scheme-only", func(g *genCtx, r *hreq) { bearer(r, "Bearer") })
	add("auth/empty-token", func(g *genCtx, r *hreq) { bearer(r, "Bearer ") })
	add("auth/basic", func(g *genCtx, r *hreq) { bearer(r, "Basic dXNlcjpwYXNz") })
	add("auth/garbage", func(g *genCtx, r *hreq) { bearer(r, "Bearer "+randToken(g.rng, 40)) })
	add("auth/three-garbage-parts", func(g *genCtx, r *hreq) { bearer(r, "Bearer a.b.c") })
	add("auth/tampered-signature", func(g *genCtx, r *hreq) { bearer(r, "Bearer "+tamper(g.token(r.as))) })
	add("auth/tampered-payload", func(g *genCtx, r *hreq) { bearer(r, "Bearer "+tamperPayload(g.token(r.as), g.id.adminID)) })
	add("auth/unsigned", func(g *genCtx, r *hreq) { bearer(r, "Bearer "+unsigned(g.token(r.as))) })
	add("auth/alg-none", func(g *genCtx, r *hreq) { bearer(r, "Bearer "+algNone(g.token(r.as))) })
	add("auth/alg-hs256-confusion", func(g *genCtx, r *hreq) { bearer(r, "Bearer "+hsConfusion(g.token(r.as), g.id)) })
	add("auth/embedded-jwk", func(g *genCtx, r *hreq) { bearer(r, "Bearer "+embeddedJWK(g.token(r.as))) })
	add("auth/doubled", func(g *genCtx, r *hreq) { bearer(r, "Bearer "+g.token(r.as)+g.token(r.as)) })
	add("auth/huge", func(g *genCtx, r *hreq) { bearer(r, "Bearer "+strings.Repeat("A", 16<<10)) })
	add("auth/invalid-utf8", func(g *genCtx, r *hreq) { bearer(r, "Bearer \xff\xfe\xfd") })
	add("auth/query-token", func(g *genCtx, r *hreq) {
		bearer(r, "")
		r.query = append(r.query, "access_token="+g.token(r.as))
	})
	add("auth/cookie-token", func(g *genCtx, r *hreq) {
		bearer(r, "")
		r.header.Set("Cookie", "access_token="+g.token(r.as))
	})
	for _, k := range []string{"expired", "not-yet-valid", "wrong-issuer", "wrong-audience", "unknown-session", "foreign-session", "unknown-user", "non-uuid-session", "non-uuid-subject"} {
		k := k
		add("auth/"+k, func(g *genCtx, r *hreq) { bearer(r, "Bearer "+g.id.crafted(k)) })
	}
	if o.softHeader {
		add("auth/lowercase-scheme", func(g *genCtx, r *hreq) { bearer(r, "bearer "+g.token(r.as)) })
		add("auth/two-headers", func(g *genCtx, r *hreq) {
			bearer(r, "Bearer "+g.token(r.as))
			r.header.Add("Authorization", "Bearer garbage")
		})
	}
}

func randToken(rng *mrand.Rand, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

func jwtParts(tok string) (h, p, s string) {
	parts := strings.SplitN(tok, ".", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return parts[0], parts[1], parts[2]
}

func tamper(tok string) string {
	h, p, s := jwtParts(tok)
	if len(s) < 4 {
		return tok + "x"
	}
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return h + "." + p + "." + string(b)
}

func tamperPayload(tok, sub string) string {
	h, p, s := jwtParts(tok)
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return tok
	}
	var claims map[string]any
	json.Unmarshal(raw, &claims)
	claims["sub"] = sub
	claims["role"] = "admin"
	return h + "." + base64.RawURLEncoding.EncodeToString(mustJSON(claims)) + "." + s
}

func unsigned(tok string) string {
	h, p, _ := jwtParts(tok)
	return h + "." + p + "."
}

func algNone(tok string) string {
	_, p, _ := jwtParts(tok)
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + p + "."
}

func hsConfusion(tok string, id *identities) string {
	_, p, _ := jwtParts(tok)
	h := base64.RawURLEncoding.EncodeToString(mustJSON(map[string]string{"alg": "HS256", "typ": "JWT", "kid": id.kid}))
	mac := hmac.New(sha256.New, id.signing.Public().(ed25519.PublicKey))
	mac.Write([]byte(h + "." + p))
	return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func embeddedJWK(tok string) string {
	_, p, _ := jwtParts(tok)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	hdr := map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": "attacker",
		"jwk": map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)}}
	h := base64.RawURLEncoding.EncodeToString(mustJSON(hdr))
	sig := ed25519.Sign(priv, []byte(h+"."+p))
	return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// crafted signs tokens with the service's real key whose claims must still
// be refused.
func (id *identities) crafted(kind string) string {
	now := time.Now().UTC().Truncate(time.Second)
	claims := map[string]any{
		"iss": id.issuer, "aud": []string{id.audience}, "sub": id.userID, "sid": id.userSession,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(), "jti": uuid.NewString(),
	}
	switch kind {
	case "expired":
		claims["iat"], claims["nbf"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	case "not-yet-valid":
		claims["iat"], claims["nbf"], claims["exp"] = now.Add(time.Hour).Unix(), now.Add(time.Hour).Unix(), now.Add(2*time.Hour).Unix()
	case "wrong-issuer":
		claims["iss"] = "evil"
	case "wrong-audience":
		claims["aud"] = []string{"evil"}
	case "unknown-session":
		claims["sid"] = uuid.NewString()
	case "foreign-session":
		claims["sub"] = id.adminID
	case "unknown-user":
		claims["sub"] = uuid.NewString()
	case "non-uuid-session":
		claims["sid"] = "not-a-uuid"
	case "non-uuid-subject":
		claims["sub"] = "not-a-uuid"
	}
	h := base64.RawURLEncoding.EncodeToString(mustJSON(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": id.kid}))
	p := base64.RawURLEncoding.EncodeToString(mustJSON(claims))
	sig := ed25519.Sign(id.signing, []byte(h+"."+p))
	return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func addParamCases(o *op, add func(string, func(*genCtx, *hreq))) {
	for _, p := range o.params {
		p := p
		var s *openapi3.Schema
		if p.Schema != nil {
			s = p.Schema.Value
		}
		switch p.In {
		case "path":
			for i, v := range badIDs {
				v := v
				add(fmt.Sprintf("path/%s/bad-%d", p.Name, i), func(g *genCtx, r *hreq) { r.path = replaceParam(o.path, r.params, p.Name, v) })
			}
			for i, v := range softIDs {
				v := v
				add(fmt.Sprintf("path/%s/odd-%d", p.Name, i), func(g *genCtx, r *hreq) { r.path = replaceParam(o.path, r.params, p.Name, v) })
			}
		case "query":
			var vals []string
			switch {
			case p.Name == "cursor":
				vals = badCursors
			case is(s, "integer"), is(s, "number"):
				vals = badInts
			case is(s, "boolean"):
				vals = badBools
			case s != nil && len(s.Enum) > 0:
				vals = badEnums
			case s != nil && s.Format == "uuid":
				vals = append(vals, badIDs...)
			case s != nil && s.Format == "date-time":
				vals = badDates
			default:
				vals = []string{"%00", "a%00b", "%01%1B", "%FF%FE", "%C0%AF", "%E2%80%AE", "%27%22%3B--", "%25%5F", "\\", "%5C%5C"}
			}
			if s != nil && s.MaxLength != nil {
				vals = append(vals, strings.Repeat("a", int(*s.MaxLength)+1), strings.Repeat("%F0%9F%98%80", int(*s.MaxLength)+1))
			}
			vals = append(vals, strings.Repeat("9", 5000))
			for i, v := range vals {
				v := v
				add(fmt.Sprintf("query/%s/%d", p.Name, i), func(g *genCtx, r *hreq) { r.query = append(r.query, p.Name+"="+v) })
			}
			if o.softHeader {
				add("query/"+p.Name+"/repeated", func(g *genCtx, r *hreq) { r.query = append(r.query, p.Name+"=1", p.Name+"=2") })
				add("query/"+p.Name+"/array-syntax", func(g *genCtx, r *hreq) { r.query = append(r.query, p.Name+"[]=1") })
			}
		case "cookie":
			for i, v := range []string{strings.Repeat("a", 201), strings.Repeat("a", 8000), "\xff\xfe", "a;b", `"quoted"`, "%00", "a b", "=", randTokenLike()} {
				v := v
				add(fmt.Sprintf("cookie/%s/%d", p.Name, i), func(g *genCtx, r *hreq) { r.header.Add("Cookie", p.Name+"="+v) })
			}
			add("cookie/"+p.Name+"/twice", func(g *genCtx, r *hreq) { r.header.Add("Cookie", p.Name+"=a; "+p.Name+"=b") })
		case "header":
			for i, v := range []string{"", strings.Repeat("a", 8000), "\xff\xfe", "%00"} {
				v := v
				add(fmt.Sprintf("header/%s/%d", p.Name, i), func(g *genCtx, r *hreq) { r.header.Set(p.Name, v) })
			}
		}
	}
	if o.softHeader {
		add("query/unknown-params", func(g *genCtx, r *hreq) {
			r.query = append(r.query, "evil=%00", "__proto__[admin]=1", "role=admin", strings.Repeat("x", 3000)+"=1")
		})
	}
}

func randTokenLike() string { return base64.RawURLEncoding.EncodeToString(make([]byte, 32)) }

func replaceParam(tmpl string, params map[string]string, name, raw string) string {
	path := tmpl
	for k, v := range params {
		if k == name {
			path = strings.ReplaceAll(path, "{"+k+"}", raw)
		} else {
			path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
		}
	}
	return path
}

func addJSONCases(o *op, add func(string, func(*genCtx, *hreq))) {
	s := o.json
	// Content types the operation does not accept.
	for i, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/xml", "", "multipart/form-data; boundary=zzz", "application/jsonx", "json", "application/json\x00", "*/*"} {
		ct := ct
		add(fmt.Sprintf("content-type/%d", i), func(g *genCtx, r *hreq) {
			if ct == "" {
				r.header.Del("Content-Type")
			} else {
				r.header.Set("Content-Type", ct)
			}
		})
	}
	if o.softValue {
		for i, ct := range []string{"application/json; charset=utf-8", "APPLICATION/JSON", "application/json; charset=latin1", "application/json;;"} {
			ct := ct
			add(fmt.Sprintf("content-type/odd-%d", i), func(g *genCtx, r *hreq) { r.header.Set("Content-Type", ct) })
		}
	}
	// Bodies that are not the object the operation takes.
	shapes := map[string]func(full []byte) []byte{
		"empty":          func([]byte) []byte { return []byte{} },
		"null":           func([]byte) []byte { return []byte("null") },
		"array":          func([]byte) []byte { return []byte("[]") },
		"string":         func([]byte) []byte { return []byte(`"x"`) },
		"number":         func([]byte) []byte { return []byte("42") },
		"open-brace":     func([]byte) []byte { return []byte("{") },
		"truncated":      func(b []byte) []byte { return b[:len(b)/2] },
		"bom":            func(b []byte) []byte { return append([]byte("\xef\xbb\xbf"), b...) },
		"trailing-junk":  func(b []byte) []byte { return append(slices.Clone(b), " xyz"...) },
		"two-objects":    func(b []byte) []byte { return append(slices.Clone(b), b...) },
		"single-quotes":  func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(`"`), []byte(`'`)) },
		"binary":         func([]byte) []byte { b := make([]byte, 512); rand.Read(b); return b },
		"nul-bytes":      func([]byte) []byte { return make([]byte, 64) },
		"utf16":          func(b []byte) []byte { return utf16le(b) },
		"comment":        func(b []byte) []byte { return append([]byte("/*x*/"), b...) },
		"deep-array":     func([]byte) []byte { return nested("[", "]", 20000) },
		"deep-object":    func([]byte) []byte { return nested(`{"a":`, "}", 20000) },
		"huge":           func([]byte) []byte { return bytes.Repeat([]byte(" "), 2<<20) },
		"huge-object":    func([]byte) []byte { return hugeObject(2 << 20) },
		"many-keys":      func([]byte) []byte { return manyKeys(20000) },
		"numbers-only":   func([]byte) []byte { return []byte(`{"a":1e999999}`) },
		"invalid-escape": func(b []byte) []byte { return []byte(`{"x":"\q\u12"}`) },
	}
	for _, name := range sortedKeys(shapes) {
		f := shapes[name]
		add("body/"+name, func(g *genCtx, r *hreq) { r.setBody(f(r.payload())) })
	}
	if len(s.Properties) > 0 || len(s.Required) > 0 {
		if len(s.Required) > 0 || s.MinProps > 0 {
			add("body/empty-object", func(g *genCtx, r *hreq) { r.setBody([]byte("{}")) })
		}
	}
	// Fields the schema does not have.
	for i, extra := range []field{
		{"role", mustJSON("admin")}, {"is_admin", []byte("true")}, {"__proto__", []byte(`{"admin":true}`)},
		{"constructor", []byte(`{"prototype":{}}`)}, {"", []byte("1")}, {"email\x00", mustJSON("x@example.com")},
		{"id", mustJSON(uuid.NewString())}, {"password_hash", mustJSON("$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA")},
		{strings.Repeat("k", 5000), []byte("1")}, {"\xff\xfe", []byte("1")},
	} {
		extra := extra
		if _, known := s.Properties[extra.key]; known {
			continue
		}
		add(fmt.Sprintf("body/extra-field-%d", i), func(g *genCtx, r *hreq) { r.fields = append(r.fields, extra) })
	}
	for _, name := range s.Required {
		name := name
		add("body/missing/"+name, func(g *genCtx, r *hreq) { r.del(name) })
	}
	for _, name := range sortedProps(s) {
		name := name
		ps := s.Properties[name].Value
		types := wrongTypes
		if is(ps, "boolean") || is(ps, "integer") {
			types = badBoolTypes
		}
		for i, v := range types {
			if is(ps, "object") && bytes.HasPrefix(v, []byte("{")) || is(ps, "array") && bytes.HasPrefix(v, []byte("[")) {
				continue
			}
			if ps != nil && ps.Nullable && string(v) == "null" {
				continue
			}
			v := v
			add(fmt.Sprintf("body/%s/wrong-type-%d", name, i), func(g *genCtx, r *hreq) { r.set(name, v) })
		}
		if !is(ps, "string") {
			continue
		}
		if ps.MaxLength != nil {
			n := int(*ps.MaxLength)
			add("body/"+name+"/too-long", func(g *genCtx, r *hreq) { r.set(name, mustJSON(longValid(ps, n+1))) })
			add("body/"+name+"/much-too-long", func(g *genCtx, r *hreq) { r.set(name, mustJSON(longValid(ps, 900<<10))) })
			add("body/"+name+"/too-long-multibyte", func(g *genCtx, r *hreq) { r.set(name, mustJSON(strings.Repeat("é", n+1))) })
		}
		if ps.MinLength > 0 {
			add("body/"+name+"/empty", func(g *genCtx, r *hreq) { r.set(name, mustJSON("")) })
		}
		if ps.Format == "email" {
			for i, v := range badEmails {
				v := v
				add(fmt.Sprintf("body/%s/bad-email-%d", name, i), func(g *genCtx, r *hreq) { r.set(name, mustJSON(v)) })
			}
		}
		if len(ps.Enum) > 0 {
			for i, v := range []string{"root", "ADMIN", "admin\x00", "user ", ""} {
				v := v
				add(fmt.Sprintf("body/%s/bad-enum-%d", name, i), func(g *genCtx, r *hreq) { r.set(name, jsonStr(v)) })
			}
		}
		// Control characters and bytes that are not UTF-8: refused with 400,
		// never passed to the database.
		add("body/"+name+"/nul", func(g *genCtx, r *hreq) { r.set(name, jsonStr(insertAt(g.rng, currentString(r, name), "\x00"))) })
		add("body/"+name+"/nul-only", func(g *genCtx, r *hreq) { r.set(name, jsonStr("\x00")) })
		add("body/"+name+"/c0", func(g *genCtx, r *hreq) {
			r.set(name, jsonStr(insertAt(g.rng, currentString(r, name), string(c0Hard[g.rng.IntN(len(c0Hard))]))))
		})
		add("body/"+name+"/raw-control-byte", func(g *genCtx, r *hreq) { r.set(name, rawJSONStr(currentString(r, name)+"\x01")) })
		add("body/"+name+"/invalid-utf8", func(g *genCtx, r *hreq) {
			r.set(name, jsonStr(insertAt(g.rng, currentString(r, name), invalidUTF8[g.rng.IntN(len(invalidUTF8))])))
		})
		add("body/"+name+"/deep", func(g *genCtx, r *hreq) { r.set(name, nested("[", "]", 5000)) })
		add("body/"+name+"/duplicate-key-bad-last", func(g *genCtx, r *hreq) { r.fields = append(r.fields, field{name, []byte("12345")}) })
		if o.softValue {
			for i, v := range softStrings {
				v := v
				add(fmt.Sprintf("body/%s/odd-%d", name, i), func(g *genCtx, r *hreq) { r.set(name, mustJSON(v)) })
			}
			add("body/"+name+"/lone-surrogate", func(g *genCtx, r *hreq) { r.set(name, []byte(`"a\ud800b"`)) })
			add("body/"+name+"/duplicate-key-good-last", func(g *genCtx, r *hreq) {
				good := currentRaw(r, name)
				r.del(name)
				r.fields = append(r.fields, field{name, []byte("12345")}, field{name, good})
			})
		}
	}
}

func currentRaw(r *hreq, name string) []byte {
	for _, f := range r.fields {
		if f.key == name {
			return f.raw
		}
	}
	return mustJSON("x")
}

func currentString(r *hreq, name string) string {
	var s string
	if json.Unmarshal(currentRaw(r, name), &s) != nil || s == "" {
		return "x"
	}
	return s
}

// insertAt puts bad into s at a random position (the middle of an email's
// local part still passes a loose format check; the end too).
func insertAt(rng *mrand.Rand, s, bad string) string {
	i := rng.IntN(len(s) + 1)
	return s[:i] + bad + s[i:]
}

// longValid is a value of n characters that breaks nothing but its length.
func longValid(s *openapi3.Schema, n int) string {
	if s.Format == "email" {
		return strings.Repeat("a", max(n-12, 1)) + "@example.com"
	}
	return strings.Repeat("a", n)
}

func nested(open, close string, depth int) []byte {
	return []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(close, depth))
}

func hugeObject(n int) []byte {
	return []byte(`{"x":"` + strings.Repeat("a", n) + `"}`)
}

func manyKeys(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func utf16le(b []byte) []byte {
	out := make([]byte, 0, 2*len(b)+2)
	out = append(out, 0xff, 0xfe)
	for _, c := range b {
		out = append(out, c, 0)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// multipart building blocks, written by hand so they can be wrong.
func mpPart(boundary, headers string, content []byte) []byte {
	var b bytes.Buffer
	b.WriteString("--" + boundary + "\r\n" + headers + "\r\n\r\n")
	b.Write(content)
	b.WriteString("\r\n")
	return b.Bytes()
}

func mpEnd(boundary string) []byte { return []byte("--" + boundary + "--\r\n") }

func fileHeader(filename string) string {
	return `Content-Disposition: form-data; name="file"; filename="` + filename + `"` + "\r\nContent-Type: application/octet-stream"
}

func addMultipartCases(o *op, add func(string, func(*genCtx, *hreq))) {
	const bnd = "torture-boundary-7d3f"
	ct := "multipart/form-data; boundary=" + bnd
	set := func(r *hreq, ctype string, body []byte) {
		r.setBody(body)
		if ctype == "" {
			r.header.Del("Content-Type")
		} else {
			r.header.Set("Content-Type", ctype)
		}
	}
	good := func(name string, content []byte) []byte {
		return append(mpPart(bnd, fileHeader(name), content), mpEnd(bnd)...)
	}
	type mcase struct {
		name string
		f    func(g *genCtx, r *hreq)
	}
	cases := []mcase{
		{"no-content-type", func(g *genCtx, r *hreq) { set(r, "", good("a.exe", mzContent())) }},
		{"json-content-type", func(g *genCtx, r *hreq) { set(r, "application/json", good("a.exe", mzContent())) }},
		{"no-boundary", func(g *genCtx, r *hreq) { set(r, "multipart/form-data", good("a.exe", mzContent())) }},
		{"empty-boundary", func(g *genCtx, r *hreq) { set(r, "multipart/form-data; boundary=", good("a.exe", mzContent())) }},
		{"boundary-mismatch", func(g *genCtx, r *hreq) { set(r, "multipart/form-data; boundary=other", good("a.exe", mzContent())) }},
		{"boundary-too-long", func(g *genCtx, r *hreq) {
			b := strings.Repeat("b", 200)
			set(r, "multipart/form-data; boundary="+b, append(mpPart(b, fileHeader("a.exe"), mzContent()), mpEnd(b)...))
		}},
		{"boundary-bad-chars", func(g *genCtx, r *hreq) { set(r, `multipart/form-data; boundary="a\x01b"`, good("a.exe", mzContent())) }},
		{"mixed-not-form-data", func(g *genCtx, r *hreq) { set(r, "multipart/mixed; boundary="+bnd, good("a.exe", mzContent())) }},
		{"truncated-in-content", func(g *genCtx, r *hreq) { b := good("a.txt", textContent("t", 8000)); set(r, ct, b[:len(b)/2]) }},
		{"truncated-in-headers", func(g *genCtx, r *hreq) { b := good("a.exe", mzContent()); set(r, ct, b[:40]) }},
		{"no-closing-delimiter", func(g *genCtx, r *hreq) { set(r, ct, mpPart(bnd, fileHeader("a.exe"), mzContent())) }},
		{"only-closing-delimiter", func(g *genCtx, r *hreq) { set(r, ct, mpEnd(bnd)) }},
		{"empty-body", func(g *genCtx, r *hreq) { set(r, ct, nil) }},
		{"garbage-body", func(g *genCtx, r *hreq) { b := make([]byte, 2048); rand.Read(b); set(r, ct, b) }},
		{"no-file-part", func(g *genCtx, r *hreq) {
			set(r, ct, append(mpPart(bnd, `Content-Disposition: form-data; name="files"; filename="a.txt"`, []byte("hello")), mpEnd(bnd)...))
		}},
		{"no-disposition", func(g *genCtx, r *hreq) {
			set(r, ct, append(mpPart(bnd, "Content-Type: text/plain", []byte("hello")), mpEnd(bnd)...))
		}},
		{"file-without-filename", func(g *genCtx, r *hreq) {
			set(r, ct, append(mpPart(bnd, `Content-Disposition: form-data; name="file"`, mzContent()), mpEnd(bnd)...))
		}},
		{"nul-in-part-header", func(g *genCtx, r *hreq) { set(r, ct, good("a\x00.exe", mzContent())) }},
		{"control-in-part-header", func(g *genCtx, r *hreq) { set(r, ct, good("a\x01\x1b.exe", mzContent())) }},
		{"invalid-utf8-filename", func(g *genCtx, r *hreq) { set(r, ct, good("\xff\xfe.exe", mzContent())) }},
		{"traversal-filename", func(g *genCtx, r *hreq) { set(r, ct, good("../../../../etc/cron.d/x.exe", mzContent())) }},
		{"huge-part-header", func(g *genCtx, r *hreq) { set(r, ct, good(strings.Repeat("n", 100<<10)+".exe", mzContent())) }},
		{"many-parts", func(g *genCtx, r *hreq) {
			var b []byte
			for i := range 500 {
				b = append(b, mpPart(bnd, fmt.Sprintf(`Content-Disposition: form-data; name="x%d"`, i), []byte("v"))...)
			}
			set(r, ct, append(append(b, mpPart(bnd, fileHeader("a.exe"), mzContent())...), mpEnd(bnd)...))
		}},
		{"lf-line-endings", func(g *genCtx, r *hreq) {
			set(r, ct, bytes.ReplaceAll(good("a.exe", mzContent()), []byte("\r\n"), []byte("\n")))
		}},
		{"executable", func(g *genCtx, r *hreq) { set(r, ct, good("a.txt", mzContent())) }},
		{"elf", func(g *genCtx, r *hreq) {
			set(r, ct, good("a.txt", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 4000)...)))
		}},
		{"declared-png-is-exe", func(g *genCtx, r *hreq) {
			set(r, ct, append(mpPart(bnd, `Content-Disposition: form-data; name="file"; filename="a.png"`+"\r\nContent-Type: image/png", mzContent()), mpEnd(bnd)...))
		}},
		{"text-with-exe-name", func(g *genCtx, r *hreq) { set(r, ct, good("notes.exe", textContent("x", 100))) }},
		{"html-as-text", func(g *genCtx, r *hreq) { set(r, ct, good("a.txt", []byte("<html><script>alert(1)</script></html>"))) }},
		{"svg", func(g *genCtx, r *hreq) {
			set(r, ct, good("a.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)))
		}},
		{"zip-appended", func(g *genCtx, r *hreq) {
			c := append(textContent("z", 200), "PK\x05\x06"+strings.Repeat("\x00", 18)...)
			set(r, ct, good("a.txt", c))
		}},
		{"gzip", func(g *genCtx, r *hreq) {
			set(r, ct, good("a.txt", append([]byte("\x1f\x8b\x08\x00"), make([]byte, 100)...)))
		}},
		{"empty-exe", func(g *genCtx, r *hreq) { set(r, ct, good("a.exe", nil)) }},
		{"over-size-limit", func(g *genCtx, r *hreq) { set(r, ct, good("big.txt", textContent("big", 200<<10))) }},
		{"duplicate-file-parts", func(g *genCtx, r *hreq) {
			b := append(mpPart(bnd, fileHeader("a.exe"), mzContent()), mpPart(bnd, fileHeader("b.txt"), []byte("hello"))...)
			set(r, ct, append(b, mpEnd(bnd)...))
		}},
	}
	for _, c := range cases {
		add("multipart/"+c.name, c.f)
	}
}

func addHeaderCases(o *op, add func(string, func(*genCtx, *hreq))) {
	// Host names outside ALLOWED_HOSTS: refused before anything runs.
	for i, h := range []string{"evil.example", "127.0.0.1.evil.example", "localhost.", "[::1]:1"} {
		h := h
		add(fmt.Sprintf("header/host-%d", i), func(g *genCtx, r *hreq) { r.header.Set("Host", h) })
	}
	if !o.softHeader {
		return
	}
	hs := map[string]func(g *genCtx, r *hreq){
		"request-id-long":   func(g *genCtx, r *hreq) { r.header.Set("X-Request-ID", strings.Repeat("r", 10000)) },
		"request-id-utf8":   func(g *genCtx, r *hreq) { r.header.Set("X-Request-ID", "\xff\xfe") },
		"request-id-twice":  func(g *genCtx, r *hreq) { r.header.Add("X-Request-ID", "a"); r.header.Add("X-Request-ID", "b") },
		"request-id-inject": func(g *genCtx, r *hreq) { r.header.Set("X-Request-ID", `a","level":"ERROR`) },
		"xff-garbage":       func(g *genCtx, r *hreq) { r.header.Set("X-Forwarded-For", "1.1.1.1, <script>, \xff, 999.1.1.1") },
		"xff-huge":          func(g *genCtx, r *hreq) { r.header.Set("X-Forwarded-For", strings.Repeat("10.0.0.1, ", 2000)) },
		"forwarded-proto":   func(g *genCtx, r *hreq) { r.header.Set("X-Forwarded-Proto", "https, \xff") },
		"origin-evil":       func(g *genCtx, r *hreq) { r.header.Set("Origin", "https://evil.example") },
		"origin-null":       func(g *genCtx, r *hreq) { r.header.Set("Origin", "null") },
		"origin-twice":      func(g *genCtx, r *hreq) { r.header.Add("Origin", "a"); r.header.Add("Origin", "b") },
		"origin-utf8":       func(g *genCtx, r *hreq) { r.header.Set("Origin", "http://\xff\xfe") },
		"accept-xml":        func(g *genCtx, r *hreq) { r.header.Set("Accept", "application/xml") },
		"accept-huge":       func(g *genCtx, r *hreq) { r.header.Set("Accept", strings.Repeat("a/b;q=0.1, ", 3000)) },
		"user-agent-huge":   func(g *genCtx, r *hreq) { r.header.Set("User-Agent", strings.Repeat("u", 60000)) },
		"user-agent-utf8":   func(g *genCtx, r *hreq) { r.header.Set("User-Agent", "\xff\xfe\xfd torture") },
		"many-headers":      func(g *genCtx, r *hreq) { manyHeaders(r, 200) },
		"range-garbage":     func(g *genCtx, r *hreq) { r.header.Set("Range", "bytes=9999999999999999999-, -0, a-b") },
		"if-none-match":     func(g *genCtx, r *hreq) { r.header.Set("If-None-Match", strings.Repeat(`"x",`, 2000)) },
		"cookie-garbage":    func(g *genCtx, r *hreq) { r.header.Set("Cookie", strings.Repeat("a=b; ", 1000)+"\xff=\xfe") },
		"content-encoding":  func(g *genCtx, r *hreq) { r.header.Set("Content-Encoding", "gzip") },
		"expect-continue":   func(g *genCtx, r *hreq) { r.header.Set("Expect", "100-continue") },
		"expect-unknown":    func(g *genCtx, r *hreq) { r.header.Set("Expect", "the-unexpected") },
		"method-override":   func(g *genCtx, r *hreq) { r.header.Set("X-HTTP-Method-Override", "DELETE") },
		"origin-with-cookie": func(g *genCtx, r *hreq) {
			r.header.Set("Origin", "https://evil.example")
			r.header.Add("Cookie", "refresh_token=abc")
		},
		"access-control-req":  func(g *genCtx, r *hreq) { r.header.Set("Access-Control-Request-Method", "DELETE") },
		"x-original-url":      func(g *genCtx, r *hreq) { r.header.Set("X-Original-URL", "/api/v1/users") },
		"chunked-transfer":    func(g *genCtx, r *hreq) { r.header.Set("X-Torture-Chunked", "1") },
		"connection-upgrade":  func(g *genCtx, r *hreq) { r.header.Set("Connection", "Upgrade"); r.header.Set("Upgrade", "websocket") },
		"content-length-zero": func(g *genCtx, r *hreq) { r.header.Set("X-Torture-Content-Length", "0") },
	}
	for _, name := range sortedKeys(hs) {
		add("header/"+name, hs[name])
	}
}

func manyHeaders(r *hreq, n int) {
	for i := range n {
		r.header.Set(fmt.Sprintf("X-Torture-%d", i), strings.Repeat("v", 200))
	}
}

// addRawCases sends requests Go's HTTP client would refuse to write. Go's
// server refuses most of them before any application code runs (a plain 400
// or 431), which is counted but exempt from the problem+json check.
func addRawCases(o *op, add func(string, func(*genCtx, *hreq))) {
	for _, name := range rawHard {
		name := name
		add("raw/"+name, func(g *genCtx, r *hreq) { r.raw = []byte(name) })
	}
	if !o.softHeader {
		return
	}
	for _, name := range rawSoft {
		name := name
		add("raw/"+name, func(g *genCtx, r *hreq) { r.raw = []byte(name) })
	}
}

// rawHard never reach a handler; rawSoft may (Go accepts bare LF line ends
// and folded header lines,
// an operation without a body never reads a broken chunked one, and one
// without query parameters never parses a bad query).
var (
	rawHard = []string{
		"nul-in-header", "c0-in-header", "space-in-header-name", "no-colon", "two-content-lengths", "nul-in-host", "no-host", "two-hosts", "huge-header", "raw-nul-in-path", "raw-space-in-path",
		"bad-escape-in-path", "absolute-uri",
	}
	rawSoft = []string{"obs-fold", "lf-only", "bad-escape-in-query", "bad-chunked", "te-and-cl", "fragment", "invalid-utf8-path"}
)

// rawVariant renders a raw case: the start line and headers of r, mangled by
// the named case, then the body.
func rawVariant(name, start string, r *hreq, body []byte) []byte {
	mangle := map[string]func(string) string{
		"nul-in-header":        func(s string) string { return s + "X-Evil: a\x00b\r\n" },
		"c0-in-header":         func(s string) string { return s + "X-Evil: a\x01\x1bb\r\n" },
		"space-in-header-name": func(s string) string { return s + "X Evil: a\r\n" },
		"obs-fold":             func(s string) string { return s + "X-Evil: a\r\n b\r\n" },
		"no-colon":             func(s string) string { return s + "X-Evil\r\n" },
		"two-content-lengths":  func(s string) string { return s + "Content-Length: 1\r\nContent-Length: 2\r\n" },
		"te-and-cl":            func(s string) string { return s + "Transfer-Encoding: chunked\r\n" },
		"bad-chunked":          func(s string) string { return s + "Transfer-Encoding: chunked\r\n" },
		"nul-in-host":          func(s string) string { return strings.Replace(s, "Host: ", "Host: a\x00", 1) },
		"no-host":              stripHost,
		"two-hosts":            func(s string) string { return s + "Host: evil.example\r\n" },
		"huge-header":          func(s string) string { return s + "X-Evil: " + strings.Repeat("a", 2<<20) + "\r\n" },
		"invalid-utf8-path":    func(s string) string { return replacePath(s, r.path+"\xff\xfe") },
		"raw-nul-in-path":      func(s string) string { return replacePath(s, r.path+"\x00") },
		"raw-space-in-path":    func(s string) string { return replacePath(s, r.path+"/a b") },
		"bad-escape-in-path":   func(s string) string { return replacePath(s, r.path+"%zz") },
		"bad-escape-in-query":  func(s string) string { return replacePath(s, r.path+"?limit=%zz&cursor=%") },
		"absolute-uri":         func(s string) string { return replacePath(s, "http://evil.example"+r.path) },
		"fragment":             func(s string) string { return replacePath(s, r.path+"#frag") },
		"lf-only":              func(s string) string { return s },
	}
	s := mangle[name](start)
	var b bytes.Buffer
	b.WriteString(s)
	switch name {
	case "te-and-cl":
		b.WriteString(fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)+3))
		fmt.Fprintf(&b, "%x\r\n", len(body))
		b.Write(body)
		b.WriteString("\r\n0\r\n\r\n")
	case "bad-chunked":
		b.WriteString("\r\nzz\r\n")
		b.Write(body)
		b.WriteString("\r\n-1\r\n\r\n")
	case "two-content-lengths":
		b.WriteString("\r\n")
		b.Write(body)
	default:
		if !strings.Contains(s, "Content-Length:") {
			fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
		}
		b.WriteString("\r\n")
		b.Write(body)
	}
	out := b.Bytes()
	if name == "lf-only" {
		out = bytes.ReplaceAll(out, []byte("\r\n"), []byte("\n"))
	}
	return out
}

func stripHost(s string) string {
	var out []string
	for _, l := range strings.SplitAfter(s, "\r\n") {
		if !strings.HasPrefix(l, "Host: ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

func replacePath(s, path string) string {
	line, rest, _ := strings.Cut(s, "\r\n")
	parts := strings.SplitN(line, " ", 3)
	if len(parts) != 3 {
		return s
	}
	return parts[0] + " " + path + " " + parts[2] + "\r\n" + rest
}
