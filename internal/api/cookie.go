package api

import (
	"net/http"
	"time"
)

const (
	refreshCookieName = "refresh_token"
	refreshCookiePath = "/api/v1/auth"
)

// refreshCookie is the one place the refresh cookie is built. Strict handlers
// cannot touch the response writer, so the spec declares Set-Cookie as a
// response header and handlers return this value in it. maxAge <= 0 clears it.
func (s *Server) refreshCookie(value string, maxAge time.Duration) *string {
	c := &http.Cookie{
		Name:     refreshCookieName,
		Value:    value,
		Path:     refreshCookiePath,
		HttpOnly: true,
		Secure:   s.Config.CookieSecure,
		SameSite: http.SameSiteStrictMode,
	}
	if maxAge > 0 {
		c.MaxAge = int(maxAge / time.Second)
	} else {
		c.MaxAge = -1 // "Max-Age=0": delete now
		c.Value = ""
	}
	v := c.String()
	return &v
}
