package api_test

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"secureapi/internal/api/apitest"
)

var (
	inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	inlineStyle  = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
)

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// Mailed links open pages of this server: each posts the link's token to the
// API with nothing loaded from elsewhere, under a CSP that allows exactly its
// own script and style.
func TestMailedLinkPages(t *testing.T) {
	e := apitest.New(t, "sqlite", nil)
	pages := map[string]string{
		"/reset-password": "/api/v1/auth/password/reset",
		"/verify-email":   "/api/v1/auth/email/verify",
		"/confirm-email":  "/api/v1/users/me/email/confirm",
	}
	for path, endpoint := range pages {
		t.Run(path, func(t *testing.T) {
			res := e.Do(t, apitest.Request{URL: path})
			if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("status %d, content type %q", res.Status, res.Header.Get("Content-Type"))
			}
			body := string(res.Body)
			if !strings.Contains(body, `data-endpoint="`+endpoint+`"`) {
				t.Errorf("page does not post to %s", endpoint)
			}
			csp := res.Header.Get("Content-Security-Policy")
			script, style := inlineScript.FindStringSubmatch(body), inlineStyle.FindStringSubmatch(body)
			if script == nil || style == nil {
				t.Fatal("page without its script or style")
			}
			for _, want := range []string{"default-src 'none'", "script-src " + cspHash(script[1]), "style-src " + cspHash(style[1]), "connect-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(csp, "unsafe") {
				t.Error("page refers to another host or allows unsafe sources")
			}
			if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("Cache-Control %q, X-Frame-Options %q", res.Header.Get("Cache-Control"), res.Header.Get("X-Frame-Options"))
			}
		})
	}
}

// Every JSON body ends with a newline, so `curl` output leaves the shell
// prompt on a line of its own.
func TestBodiesEndWithANewline(t *testing.T) {
	e := apitest.New(t, "sqlite", nil)
	for _, req := range []apitest.Request{
		{URL: "/healthz"},
		{URL: "/.well-known/jwks.json"},
		{URL: "/nope"},
		{URL: "/api/v1/users/me"},
		{Method: "POST", URL: "/api/v1/auth/login", Body: `{"email":`},
		{Method: "POST", URL: "/api/v1/auth/login", Body: map[string]any{"email": "nobody@example.com", "password": "Wrong-pass-1"}},
	} {
		res := e.Do(t, req)
		if len(res.Body) == 0 || res.Body[len(res.Body)-1] != '\n' {
			t.Errorf("%s %s -> %d: body %q does not end with a newline", req.Method, req.URL, res.Status, res.Body)
		}
	}
}
