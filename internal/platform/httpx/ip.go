package httpx

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"
)

// IPExtractor returns an echo.IPExtractor that only believes X-Forwarded-For
// when the socket peer is one of the trusted proxies.
//
// The client IP is the socket peer address unless that peer is inside one of
// trusted; then X-Forwarded-For is walked from the right, skipping addresses
// inside trusted, and the first untrusted address is the client. If every
// address is trusted, the left-most one is used. An entry that is not an IP
// address stops the walk and the last trusted hop is used, because nothing to
// its left can be attributed to a proxy we trust. IPv4-mapped IPv6 addresses
// are reported in their IPv4 form. The result has no port; it is "" only when
// the socket peer itself is not an IP address (for example a Unix socket).
//
// Echo v4's defaults trust spoofable headers (GO-2026-6872, GO-2026-6875) and
// have no v4 fix, hence this replacement.
func IPExtractor(trusted []netip.Prefix) echo.IPExtractor {
	nets := normalizePrefixes(trusted)
	return func(r *http.Request) string {
		peer, ok := peerAddr(r)
		if !ok {
			return ""
		}
		if !isTrusted(peer, nets) {
			return peer.String()
		}
		return walkForwardedFor(r.Header.Values(echo.HeaderXForwardedFor), peer, nets).String()
	}
}

// IsHTTPS reports whether the client connection used TLS: r.TLS != nil, or the
// socket peer is trusted and the right-most X-Forwarded-Proto value is
// "https". Only the right-most value counts because that is the one appended
// by the proxy closest to us; anything to its left came from further away.
func IsHTTPS(r *http.Request, trusted []netip.Prefix) bool {
	if r.TLS != nil {
		return true
	}
	return isHTTPS(r, normalizePrefixes(trusted))
}

// isHTTPS is IsHTTPS for prefixes already passed through normalizePrefixes.
func isHTTPS(r *http.Request, trusted []netip.Prefix) bool {
	if r.TLS != nil {
		return true
	}
	peer, ok := peerAddr(r)
	if !ok || !isTrusted(peer, trusted) {
		return false
	}
	values := r.Header.Values(echo.HeaderXForwardedProto)
	if len(values) == 0 {
		return false
	}
	last := values[len(values)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(last), "https")
}

// walkForwardedFor implements the right-to-left walk described on IPExtractor.
// peer must already be trusted.
func walkForwardedFor(values []string, peer netip.Addr, nets []netip.Prefix) netip.Addr {
	lastTrusted := peer
	for i := len(values) - 1; i >= 0; i-- {
		entries := strings.Split(values[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			addr, ok := parseForwardedAddr(entries[j])
			if !ok {
				return lastTrusted
			}
			if !isTrusted(addr, nets) {
				return addr
			}
			lastTrusted = addr
		}
	}
	return lastTrusted
}

// parseForwardedAddr accepts the forms proxies are known to emit: a bare
// address, a bracketed IPv6 address, and either of those with a port.
func parseForwardedAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, false
	}
	if addr, err := netip.ParseAddr(s); err == nil {
		return canonical(addr), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if addr, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return canonical(addr), true
		}
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return canonical(ap.Addr()), true
	}
	return netip.Addr{}, false
}

// peerAddr returns the address of the socket peer.
func peerAddr(r *http.Request) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return canonical(ap.Addr()), true
	}
	if addr, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return canonical(addr), true
	}
	return netip.Addr{}, false
}

// canonical drops the zone and the IPv4-mapped form so that an address has a
// single spelling for both trust checks and logs.
func canonical(a netip.Addr) netip.Addr {
	return a.WithZone("").Unmap()
}

func normalizePrefixes(in []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(in))
	for _, p := range in {
		if !p.IsValid() {
			continue
		}
		addr := p.Addr()
		bits := p.Bits()
		// Written as ::ffff:a.b.c.d/n, a prefix would never match the unmapped
		// addresses we compare against, so rewrite it in IPv4 terms.
		if addr.Is4In6() && bits >= 96 {
			addr = addr.Unmap()
			bits -= 96
		}
		out = append(out, netip.PrefixFrom(addr, bits).Masked())
	}
	return out
}

func isTrusted(a netip.Addr, nets []netip.Prefix) bool {
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
