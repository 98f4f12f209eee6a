package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

//go:embed pages/page.html pages/page.js pages/style.css pages/docs.html pages/docs.js
var pageFiles embed.FS

// linkPage is a page that a mailed link opens: it takes the token from the
// link and posts it to the API, so links work with nothing but this server.
type linkPage struct {
	Path        string
	Title       string
	Intro       string
	Action      string // reset, verify-email, confirm-email (read by the script)
	Endpoint    string // the API operation the token is posted to
	Button      string
	Done        string
	AskPassword bool
}

var linkPages = []linkPage{
	{Path: "/reset-password", Title: "Choose a new password", Action: "reset",
		Intro:    "Enter a new password for your account. Every session of the account is signed out.",
		Endpoint: "/api/v1/auth/password/reset", Button: "Set password", AskPassword: true,
		Done: "Your password is changed. Sign in with it in the app."},
	{Path: "/verify-email", Title: "Confirm your email address", Action: "verify-email",
		Intro:    "Confirm that this address belongs to your account.",
		Endpoint: "/api/v1/auth/email/verify", Button: "Confirm address",
		Done: "Your email address is confirmed. You can close this page."},
	{Path: "/confirm-email", Title: "Confirm your new email address", Action: "confirm-email",
		Intro:    "Confirm the change of your account's email address. Other sessions of the account are signed out.",
		Endpoint: "/api/v1/users/me/email/confirm", Button: "Confirm new address",
		Done: "Your account now uses this address. You can close this page."},
}

// pageHandlers returns the link pages' handlers by path and the
// Content-Security-Policy they share: no outside requests, only the page's
// own script and style (allowed by hash), fetches to this origin. The pages
// are rendered together on the first request for one of them, not at start.
func pageHandlers() (map[string]echo.HandlerFunc, string, error) {
	read := func(name string) (string, error) {
		b, err := pageFiles.ReadFile("pages/" + name)
		return string(b), err
	}
	script, err := read("page.js")
	if err != nil {
		return nil, "", err
	}
	style, err := read("style.css")
	if err != nil {
		return nil, "", err
	}
	render := sync.OnceValues(func() (map[string][]byte, error) {
		html, err := read("page.html")
		if err != nil {
			return nil, err
		}
		tmpl, err := template.New("page").Parse(html)
		if err != nil {
			return nil, fmt.Errorf("link page template: %w", err)
		}
		bodies := make(map[string][]byte, len(linkPages))
		for _, p := range linkPages {
			var buf bytes.Buffer
			data := struct {
				linkPage
				Script template.JS
				Style  template.CSS
			}{p, template.JS(script), template.CSS(style)}
			if err := tmpl.Execute(&buf, data); err != nil {
				return nil, fmt.Errorf("link page %s: %w", p.Path, err)
			}
			bodies[p.Path] = buf.Bytes()
		}
		return bodies, nil
	})
	handlers := make(map[string]echo.HandlerFunc, len(linkPages))
	for _, p := range linkPages {
		handlers[p.Path] = func(c echo.Context) error {
			bodies, err := render()
			if err != nil {
				return err
			}
			// The page is the same for everyone, but the address it was opened
			// with carried a token: keep it out of every cache.
			c.Response().Header().Set("Cache-Control", "no-store")
			return c.HTMLBlob(http.StatusOK, bodies[p.Path])
		}
	}
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src " + hash(script),
		"style-src " + hash(style),
		"connect-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
	return handlers, csp, nil
}
