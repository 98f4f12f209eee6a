package httpx_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"secureapi/internal/platform/httpx"
)

func TestIPExtractor(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		remote  string
		xff     []string
		want    string
	}{
		{"no proxies ignores spoofed xff", nil, "203.0.113.7:5555", []string{"1.1.1.1"}, "203.0.113.7"},
		{"untrusted peer ignores xff", []string{"10.0.0.0/8"}, "203.0.113.7:5555", []string{"10.0.0.9, 1.1.1.1"}, "203.0.113.7"},
		{"trusted peer no xff", []string{"10.0.0.0/8"}, "10.0.0.1:5555", nil, "10.0.0.1"},
		{"trusted chain", []string{"10.0.0.0/8"}, "10.0.0.1:5555", []string{"1.2.3.4, 10.0.0.2"}, "1.2.3.4"},
		{"spoofed left-most ignored", []string{"10.0.0.0/8"}, "10.0.0.1:5555", []string{"6.6.6.6, 1.2.3.4"}, "1.2.3.4"},
		{"spoofed trusted-looking left-most ignored", []string{"10.0.0.0/8"}, "10.0.0.1:5555", []string{"6.6.6.6, 1.2.3.4, 10.0.0.2"}, "1.2.3.4"},
		{"multiple header lines read right to left", []string{"10.0.0.0/8"}, "10.0.0.1:5555", []string{"6.6.6.6", "1.2.3.4"}, "1.2.3.4"},
		{"all trusted gives left-most", []string{"10.0.0.0/8"}, "10.0.0.1:5555", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"garbage xff falls back to peer", []string{"10.0.0.0/8"}, "10.0.0.1:5555", []string{"not-an-ip"}, "10.0.0.1"},
		{"garbage stops walk at last trusted hop", []string{"10.0.0.0/8"}, "10.0.0.1:5555", []string{"1.2.3.4, <script>, 10.0.0.2"}, "10.0.0.2"},
		{"empty entry stops walk", []string{"10.0.0.0/8"}, "10.0.0.1:5555", []string{"1.2.3.4,,10.0.0.2"}, "10.0.0.2"},
		{"empty header value", []string{"10.0.0.0/8"}, "10.0.0.1:5555", []string{""}, "10.0.0.1"},
		{"ipv6 peer without proxies", nil, "[2001:db8::1]:443", []string{"1.1.1.1"}, "2001:db8::1"},
		{"ipv6 trusted proxy", []string{"fd00::/8"}, "[fd00::1]:443", []string{"2001:db8::5"}, "2001:db8::5"},
		{"ipv6 bracketed with port in xff", []string{"fd00::/8"}, "[fd00::1]:443", []string{"[2001:db8::5]:1234"}, "2001:db8::5"},
		{"ipv4 with port in xff", []string{"10.0.0.0/8"}, "10.0.0.1:5555", []string{"1.2.3.4:999"}, "1.2.3.4"},
		{"ipv4-mapped peer is trusted by ipv4 prefix", []string{"10.0.0.0/8"}, "[::ffff:10.0.0.1]:5555", []string{"1.2.3.4"}, "1.2.3.4"},
		{"ipv4-mapped peer reported as ipv4", nil, "[::ffff:203.0.113.7]:5555", nil, "203.0.113.7"},
		{"ipv4-mapped xff entry unmapped", []string{"10.0.0.0/8"}, "10.0.0.1:5555", []string{"::ffff:1.2.3.4"}, "1.2.3.4"},
		{"ipv4-mapped prefix trusts ipv4 peer", []string{"::ffff:10.0.0.0/104"}, "10.0.0.1:5555", []string{"1.2.3.4"}, "1.2.3.4"},
		{"zone stripped", nil, "[fe80::1%eth0]:80", nil, "fe80::1"},
		{"non-ip peer", []string{"10.0.0.0/8"}, "@", []string{"1.2.3.4"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			e.IPExtractor = httpx.IPExtractor(prefixes(t, tt.trusted...))
			e.GET("/ip", func(c echo.Context) error { return c.String(http.StatusOK, c.RealIP()) })

			req := httptest.NewRequest(http.MethodGet, "/ip", nil)
			req.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			req.Header.Set("X-Real-IP", "9.9.9.9")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if got := rec.Body.String(); got != tt.want {
				t.Fatalf("RealIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIsHTTPS(t *testing.T) {
	trusted := prefixes(t, "10.0.0.0/8")
	tests := []struct {
		name   string
		tls    bool
		remote string
		xfp    []string
		want   bool
	}{
		{"direct tls", true, "203.0.113.7:5555", nil, true},
		{"plain direct", false, "203.0.113.7:5555", nil, false},
		{"spoofed proto from untrusted peer", false, "203.0.113.7:5555", []string{"https"}, false},
		{"trusted proxy says https", false, "10.0.0.1:5555", []string{"https"}, true},
		{"trusted proxy case-insensitive", false, "10.0.0.1:5555", []string{" HTTPS "}, true},
		{"trusted proxy says http", false, "10.0.0.1:5555", []string{"http"}, false},
		{"right-most value wins (http)", false, "10.0.0.1:5555", []string{"https, http"}, false},
		{"right-most value wins (https)", false, "10.0.0.1:5555", []string{"http, https"}, true},
		{"right-most header line wins", false, "10.0.0.1:5555", []string{"https", "http"}, false},
		{"trusted proxy without header", false, "10.0.0.1:5555", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.remote
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			} else {
				req.TLS = nil
			}
			for _, v := range tt.xfp {
				req.Header.Add("X-Forwarded-Proto", v)
			}
			if got := httpx.IsHTTPS(req, trusted); got != tt.want {
				t.Fatalf("IsHTTPS = %v, want %v", got, tt.want)
			}
		})
	}
}
