package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"secureapi/internal/platform/apperr"
)

// textGuard is the one place that decides which text the API accepts: no
// JSON string in a request body and no query value may hold invalid UTF-8 or
// a C0 control character (NUL included). None of the fields is multi-line,
// so tab, CR and LF are refused too. Otherwise the engines disagree:
// SQLite stores a NUL that PostgreSQL refuses, and a control character in a
// name ends up in logs, mail headers and other clients' screens.
//
// It runs after the OpenAPI validator, which has already authenticated the
// caller and buffered the (size-limited) body.
func textGuard(skip func(echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}
			r := c.Request()
			var fields []apperr.FieldError
			for name, vals := range r.URL.Query() {
				for _, v := range vals {
					if msg := badText(v); msg != "" {
						if badText(name) != "" {
							name = ""
						}
						fields = append(fields, apperr.FieldError{Location: "query", Field: name, Message: msg})
						break
					}
				}
			}
			if r.Body != nil && isJSON(r.Header.Get("Content-Type")) {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					return err
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				fields = append(fields, bodyTextErrors(body)...)
			}
			if len(fields) > 0 {
				slices.SortFunc(fields, func(a, b apperr.FieldError) int {
					return strings.Compare(a.Location+"\x00"+a.Field, b.Location+"\x00"+b.Field)
				})
				return &apperr.Error{Kind: apperr.Invalid, Detail: fmt.Sprintf("The request has %d invalid field(s).", len(fields)), Fields: fields}
			}
			return next(c)
		}
	}
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// badText says what is wrong with s, or "" when it is acceptable text.
func badText(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 }) {
		return "must not contain control characters"
	}
	return ""
}

// bodyTextErrors lists the string fields of a JSON body that are not
// acceptable text. Go's decoder turns invalid UTF-8 into U+FFFD, so when
// the raw body is not UTF-8 the strings that came out with U+FFFD are the
// ones it was in.
func bodyTextErrors(body []byte) []apperr.FieldError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil // not JSON: the validator has answered already
	}
	if _, err := dec.Token(); err != io.EOF {
		// The decoders after this one read the first value and would
		// silently ignore whatever follows it.
		return []apperr.FieldError{{Location: "body", Field: "", Message: "the body must be exactly one JSON value"}}
	}
	rawUTF8 := utf8.Valid(body)
	var out []apperr.FieldError
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case string:
			msg := badText(x)
			if msg == "" && !rawUTF8 && strings.ContainsRune(x, utf8.RuneError) {
				msg = "must be valid UTF-8"
			}
			if msg != "" {
				out = append(out, apperr.FieldError{Location: "body", Field: path, Message: msg})
			}
		case map[string]any:
			for k, e := range x {
				if badText(k) != "" {
					out = append(out, apperr.FieldError{Location: "body", Field: path, Message: "field names must be plain text"})
					continue
				}
				walk(strings.TrimPrefix(path+"."+k, "."), e)
			}
		case []any:
			for i, e := range x {
				walk(strings.TrimPrefix(path+"."+strconv.Itoa(i), "."), e)
			}
		}
	}
	walk("", v)
	if len(out) == 0 && !rawUTF8 {
		out = append(out, apperr.FieldError{Location: "body", Field: "", Message: "must be valid UTF-8"})
	}
	return out
}
