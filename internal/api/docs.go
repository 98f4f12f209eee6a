package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"

	"secureapi"
)

// specHandlers serve the embedded openapi.yaml as YAML and, rendered from
// doc once at start-up, as JSON.
func specHandlers(doc *openapi3.T) (yamlH, jsonH echo.HandlerFunc, err error) {
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("convert spec to json: %w", err)
	}
	yamlH = func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml; charset=utf-8", secureapi.OpenAPI)
	}
	jsonH = func(c echo.Context) error { return c.Blob(http.StatusOK, echo.MIMEApplicationJSONCharsetUTF8, js) }
	return yamlH, jsonH, nil
}

var inlineScriptRE = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// docsHandler serves Swagger UI from assets compiled into the binary (no CDN,
// no outside requests) and returns the Content-Security-Policy for its page:
// the page's inline scripts are allowed by hash, nothing else inline runs.
func docsHandler() (http.Handler, string) {
	h := v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "Secure API",
		SwaggerJSON: "/openapi.json",
		BasePath:    "/docs/",
		SettingsUI:  map[string]string{"validatorUrl": "null", "tryItOutEnabled": "true"},
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/docs/", nil))
	var hashes []string
	for _, m := range inlineScriptRE.FindAllStringSubmatch(rec.Body.String(), -1) {
		sum := sha256.Sum256([]byte(m[1]))
		hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src 'self' " + strings.Join(hashes, " "),
		"style-src 'self' 'unsafe-inline'", // Swagger UI sets style attributes
		"img-src 'self' data:",
		"font-src 'self'",
		"connect-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
	return h, csp
}
