package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/swaggest/swgui/v5/static"
	"github.com/vearutop/statigz"
	"gopkg.in/yaml.v3"
)

// specHandlers serve openapi.yaml as it is in the repository and its faithful
// JSON rendering (same keys in the same order), both with a strong ETag so
// clients and the docs page can revalidate cheaply. Each document is
// prepared on its first request, not at start-up: the JSON rendering parses
// the whole YAML file again, which only readers of the spec need.
func specHandlers(raw []byte) (yamlH, jsonH echo.HandlerFunc) {
	serve := func(ctype string, render func() ([]byte, error)) echo.HandlerFunc {
		prepare := sync.OnceValues(func() (doc, error) {
			body, err := render()
			if err != nil {
				return doc{}, fmt.Errorf("render %s: %w", ctype, err)
			}
			sum := sha256.Sum256(body)
			return doc{body: body, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}, nil
		})
		return func(c echo.Context) error {
			d, err := prepare()
			if err != nil {
				return err
			}
			h := c.Response().Header()
			h.Set("ETag", d.etag)
			h.Set("Cache-Control", "no-cache")
			if match := c.Request().Header.Get("If-None-Match"); match != "" && strings.Contains(match, d.etag) {
				return c.NoContent(http.StatusNotModified)
			}
			return c.Blob(http.StatusOK, ctype, d.body)
		}
	}
	return serve("application/yaml; charset=utf-8", func() ([]byte, error) { return raw, nil }),
		serve(echo.MIMEApplicationJSONCharsetUTF8, func() ([]byte, error) { return yamlToJSON(raw) })
}

// doc is a served document and its ETag.
type doc struct {
	body []byte
	etag string
}

// yamlToJSON renders a YAML document as JSON, keeping mapping order, so the
// JSON is the same document as the file, field for field.
func yamlToJSON(raw []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeJSONNode(&buf, &doc); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func writeJSONNode(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("line %d: expected one document", n.Line)
		}
		return writeJSONNode(buf, n.Content[0])
	case yaml.AliasNode:
		return writeJSONNode(buf, n.Alias)
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSONNode(buf, c); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			buf.Write(k)
			buf.WriteByte(':')
			if err := writeJSONNode(buf, n.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		buf.Write(b)
		return nil
	}
	return fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// docsCSP is the docs page's policy. Swagger UI and the page's start-up
// script are files from this server; no inline script runs. Swagger UI sets
// style attributes, so inline styles are allowed.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// docsHandler serves Swagger UI under /docs/ from assets compiled into the
// binary (no CDN, no outside requests). Nothing is prepared at start-up: the
// asset server, which hashes every compressed asset for its ETags, is built
// on the first request for an asset.
func docsHandler() echo.HandlerFunc {
	assets := sync.OnceValue(func() *statigz.Server { return statigz.FileServer(static.FS) })
	return func(c echo.Context) error {
		switch name := strings.TrimPrefix(c.Request().URL.Path, "/docs/"); name {
		case "", "index.html":
			return pageFile(c, "docs.html", echo.MIMETextHTMLCharsetUTF8)
		case "docs.js":
			return pageFile(c, "docs.js", "text/javascript; charset=utf-8")
		default:
			r := c.Request().Clone(c.Request().Context())
			r.URL.Path = "/" + name
			if strings.Contains(name, "/") || !assets().Found(r) {
				return echo.ErrNotFound
			}
			assets().ServeHTTP(c.Response(), r)
			return nil
		}
	}
}

// pageFile answers with one of the embedded page files as it is.
func pageFile(c echo.Context, name, ctype string) error {
	b, err := pageFiles.ReadFile("pages/" + name)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, ctype, b)
}
