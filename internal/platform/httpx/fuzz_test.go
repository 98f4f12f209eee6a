package httpx

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// FuzzHostMatcher: a Host header matches only an allowed name (compared
// without case), with the entry's port when it names one, and never panics.
func FuzzHostMatcher(f *testing.F) {
	for _, s := range [][3]string{
		{"api.example.com", "api.example.com", ""}, {"api.example.com", "API.Example.COM:443", ""},
		{"api.example.com:8443", "api.example.com:443", ""}, {"[::1]:8080,localhost", "[::1]:8080", ""},
		{"example.com", "example.com.evil.test", ""}, {"example.com", "evil.test#example.com", "any"},
		{"::1", "[::1", ""}, {"", "", ""}, {"a,,b", "b:", "any"},
	} {
		f.Add(s[0], s[1], s[2] == "any")
	}
	f.Fuzz(func(t *testing.T, allowed, host string, anyPort bool) {
		entries := strings.Split(allowed, ",")
		ok := hostMatcher(entries, anyPort)(host)
		if !ok {
			return
		}
		h, p := splitHostPort(strings.ToLower(host))
		for _, e := range entries {
			eh, ep := splitHostPort(strings.ToLower(strings.TrimSpace(e)))
			if eh != "" && eh == h && (anyPort || ep == "" || ep == p) {
				return
			}
		}
		t.Fatalf("host %q matched %q (anyPort %v) without an entry naming it", host, allowed, anyPort)
	})
}

// FuzzSplitHostPort: the parts are always pieces of the input, a port is
// only ever what ends it after a colon, and a name without brackets or
// colons is returned whole.
func FuzzSplitHostPort(f *testing.F) {
	for _, s := range []string{"example.com", "example.com:80", "[::1]", "[::1]:443", "::1", "[::1]x", "[", "]:1", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port := splitHostPort(s)
		if !strings.Contains(s, host) {
			t.Fatalf("splitHostPort(%q) host %q is not part of the input", s, host)
		}
		if port != "" && !strings.HasSuffix(s, ":"+port) {
			t.Fatalf("splitHostPort(%q) port %q does not end the input", s, port)
		}
		if !strings.ContainsAny(s, "[]:") && (host != s || port != "") {
			t.Fatalf("splitHostPort(%q) = %q, %q: a plain name must come back whole", s, host, port)
		}
	})
}

// FuzzOriginAllowed: an Origin passes only when it is the one Origin of the
// request and exactly an allowlist entry other than "*".
func FuzzOriginAllowed(f *testing.F) {
	f.Add("https://app.example.com", "https://app.example.com", "", 1)
	f.Add("https://app.example.com", "https://APP.example.com", "", 1)
	f.Add("*", "*", "", 1)
	f.Add("https://a.test,https://b.test", "https://a.test", "https://b.test", 2)
	f.Add("", "null", "", 1)
	f.Add("https://a.test", "", "", 0)
	f.Fuzz(func(t *testing.T, allowedList, origin1, origin2 string, n int) {
		allowed := strings.Split(allowedList, ",")
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		values := []string{origin1, origin2}[:max(0, min(n, 2))]
		for _, v := range values {
			r.Header.Add(echo.HeaderOrigin, v)
		}
		got := OriginAllowed(r, allowed)
		want := len(values) == 0 || len(values) == 1 && values[0] != "*" && slices.Contains(allowed, values[0])
		if got != want {
			t.Fatalf("OriginAllowed(%q, %q) = %v, want %v", values, allowed, got, want)
		}
	})
}

// FuzzForwardedFor: the client address is the socket peer unless the peer
// is a trusted proxy; whatever X-Forwarded-For says, the answer is an IP
// address (or "" for a peer that is none) and never a trusted proxy's
// unless every hop is one.
func FuzzForwardedFor(f *testing.F) {
	f.Add("203.0.113.7:5555", "10.0.0.0/8", "198.51.100.1, 10.0.0.2")
	f.Add("10.0.0.1:1", "10.0.0.0/8", "garbage, 10.0.0.2")
	f.Add("10.0.0.1:1", "10.0.0.0/8", "[2001:db8::1]:443,10.1.1.1")
	f.Add("[::ffff:10.0.0.1]:1", "10.0.0.0/8", "1.2.3.4")
	f.Add("10.0.0.1:1", "10.0.0.0/8", "")
	f.Add("not-an-address", "", "1.2.3.4")
	f.Fuzz(func(t *testing.T, peer, trusted, xff string) {
		var nets []netip.Prefix
		for _, s := range strings.Split(trusted, ",") {
			if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
				nets = append(nets, p)
			}
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = peer
		r.Header.Set(echo.HeaderXForwardedFor, xff)
		got := IPExtractor(nets)(r)
		p, isPeer := peerAddr(r)
		if !isPeer {
			if got != "" {
				t.Fatalf("peer %q is no address but the client is %q", peer, got)
			}
			return
		}
		addr, err := netip.ParseAddr(got)
		if err != nil {
			t.Fatalf("client %q is not an IP address (peer %q, xff %q)", got, peer, xff)
		}
		norm := normalizePrefixes(nets)
		if !isTrusted(p, norm) && addr != p {
			t.Fatalf("untrusted peer %s, client %s: X-Forwarded-For %q was believed", p, addr, xff)
		}
	})
}

// FuzzRedirectHost: the HTTP->HTTPS redirect never sends anyone to a host
// outside the allowlist, whatever the Host header and path say.
func FuzzRedirectHost(f *testing.F) {
	for _, s := range [][2]string{
		{"api.example.com", "/x"}, {"API.EXAMPLE.COM:80", "/a?b=c"}, {"evil.test", "/"},
		{"api.example.com@evil.test", "/"}, {"api.example.com", "//evil.test/x"},
		{"[::1]", "/"}, {"api.example.com:80", "/%2F%2Fevil.test"}, {"api.example.com", "/\\evil.test"},
	} {
		f.Add(s[0], s[1])
	}
	h := RedirectHandler("8443", []string{"api.example.com"})
	f.Fuzz(func(t *testing.T, host, path string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		u, err := url.ParseRequestURI(path)
		if err != nil {
			return
		}
		r.URL, r.RequestURI, r.Host = u, path, host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusPermanentRedirect {
			return
		}
		loc, err := url.Parse(w.Header().Get("Location"))
		if err != nil {
			t.Fatalf("Host %q path %q: Location %q does not parse: %v", host, path, w.Header().Get("Location"), err)
		}
		if loc.Scheme != "https" || !strings.EqualFold(loc.Hostname(), "api.example.com") || loc.Port() != "8443" || loc.User != nil {
			t.Fatalf("Host %q path %q: redirected to %q", host, path, loc)
		}
	})
}
