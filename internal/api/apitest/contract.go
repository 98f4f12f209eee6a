package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"secureapi"
)

// UndeclaredHeaders are the response headers an operation may send without
// declaring them, each with the reason. Everything else the server sends
// must be declared on the response of the operation that sends it.
//
// The security headers are the same on every response of every route (the
// download's Content-Security-Policy adds "sandbox"); openapi.yaml describes
// them once, in info.description, instead of on each of its responses,
// where they would only add noise to every generated client.
var UndeclaredHeaders = map[string]string{
	// Transport: framing and negotiation, handled by HTTP libraries.
	"Date":           "transport",
	"Content-Length": "transport",
	"Content-Type":   "transport (the media type itself is checked against the response's content)",
	"Vary":           "transport (caches; CORS varies on Origin)",
	// CORS: answered by the CORS layer for allowed origins, the same on every route.
	"Access-Control-Allow-Origin":      "CORS",
	"Access-Control-Allow-Credentials": "CORS",
	"Access-Control-Expose-Headers":    "CORS",
	// Security headers on every response (info.description lists them).
	"X-Content-Type-Options":       "security header",
	"X-Frame-Options":              "security header",
	"Content-Security-Policy":      "security header",
	"Referrer-Policy":              "security header",
	"Cross-Origin-Opener-Policy":   "security header",
	"Cross-Origin-Resource-Policy": "security header",
	"X-Xss-Protection":             "security header",
	"Permissions-Policy":           "security header",
	"Strict-Transport-Security":    "security header",
}

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

// Spec is openapi.yaml as loaded and validated by kin-openapi, with a router
// over its operations.
func Spec() (*openapi3.T, routers.Router, error) {
	specOnce.Do(func() {
		specDoc, specErr = openapi3.NewLoader().LoadFromData(secureapi.OpenAPI)
		if specErr != nil {
			return
		}
		if specErr = specDoc.Validate(context.Background()); specErr != nil {
			return
		}
		// Requests are matched on path and method only, not on the server URL.
		specDoc.Servers = nil
		specRouter, specErr = gorillamux.NewRouter(specDoc)
	})
	return specDoc, specRouter, specErr
}

// CheckContract checks a response to r against openapi.yaml: its status must
// be declared for the operation, every header it carries declared on that
// response (or in UndeclaredHeaders), its media type declared in the
// response's content, and its JSON body must match the schema and carry no
// field the schema does not declare. Requests outside the spec (docs, the
// spec files, unknown paths and methods) are not checked.
func CheckContract(r *http.Request, res *Response) error {
	_, router, err := Spec()
	if err != nil {
		return fmt.Errorf("openapi.yaml: %w", err)
	}
	route, params, err := router.FindRoute(r)
	if err != nil {
		return nil
	}
	op := fmt.Sprintf("%s %s (%s) -> %d", r.Method, route.Path, route.Operation.OperationID, res.Status)
	ref := route.Operation.Responses.Status(res.Status)
	if ref == nil {
		ref = route.Operation.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("%s: status %d is not declared for the operation", op, res.Status)
	}
	decl := ref.Value
	var errs []error

	for name := range res.Header {
		if _, ok := UndeclaredHeaders[http.CanonicalHeaderKey(name)]; ok {
			continue
		}
		if !declaresHeader(decl, name) {
			errs = append(errs, fmt.Errorf("%s: header %s is not declared on the response", op, name))
		}
	}

	ctype := res.Header.Get("Content-Type")
	var media string
	switch {
	case ctype == "" && len(res.Body) == 0:
	case ctype == "":
		errs = append(errs, fmt.Errorf("%s: a body without Content-Type", op))
	default:
		mt, _, err := mime.ParseMediaType(ctype)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: Content-Type %q: %v", op, ctype, err))
			break
		}
		media = mt
		if len(decl.Content) == 0 {
			errs = append(errs, fmt.Errorf("%s: media type %s sent but the response declares no content", op, mt))
		} else if decl.Content.Get(ctype) == nil {
			errs = append(errs, fmt.Errorf("%s: media type %s is not declared (declared: %s)", op, mt, strings.Join(mediaTypes(decl.Content), ", ")))
		}
	}

	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 res.Status,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(res.Body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	isJSON := media == "application/json" || strings.HasSuffix(media, "+json")
	if !isJSON {
		in.Options.ExcludeResponseBody = true
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", op, err))
	}

	if isJSON && len(decl.Content) > 0 {
		if mtObj := decl.Content.Get(ctype); mtObj != nil && mtObj.Schema != nil {
			var v any
			if err := json.Unmarshal(res.Body, &v); err != nil {
				errs = append(errs, fmt.Errorf("%s: body is not JSON: %v", op, err))
			} else {
				for _, f := range undeclaredFields(mtObj.Schema.Value, v, "") {
					errs = append(errs, fmt.Errorf("%s: body field %s is not declared in the schema", op, f))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func declaresHeader(r *openapi3.Response, name string) bool {
	for k := range r.Headers {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func mediaTypes(c openapi3.Content) []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// undeclaredFields lists the object members in v that s does not declare.
// An object schema without additionalProperties is closed here (JSON Schema
// would allow anything): a field the spec does not name is one a generated
// client cannot see. additionalProperties: true or a schema opens it.
func undeclaredFields(s *openapi3.Schema, v any, path string) []string {
	if s == nil {
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		props := map[string]*openapi3.Schema{}
		open := false
		var extra *openapi3.Schema
		collect := func(s *openapi3.Schema) {
			for k, p := range s.Properties {
				if p != nil {
					props[k] = p.Value
				}
			}
			if s.AdditionalProperties.Has != nil && *s.AdditionalProperties.Has {
				open = true
			}
			if s.AdditionalProperties.Schema != nil {
				extra = s.AdditionalProperties.Schema.Value
			}
		}
		collect(s)
		for _, a := range s.AllOf {
			if a != nil && a.Value != nil {
				collect(a.Value)
			}
		}
		if alts := append(slices.Clone(s.OneOf), s.AnyOf...); len(alts) > 0 {
			// Fine when one alternative declares every field.
			best := []string(nil)
			for i, a := range alts {
				if a == nil || a.Value == nil {
					continue
				}
				got := undeclaredFields(a.Value, v, path)
				if len(got) == 0 {
					return nil
				}
				if i == 0 || len(got) < len(best) {
					best = got
				}
			}
			return best
		}
		var out []string
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := path + "." + k
			switch ps, ok := props[k]; {
			case ok:
				out = append(out, undeclaredFields(ps, x[k], p)...)
			case extra != nil:
				out = append(out, undeclaredFields(extra, x[k], p)...)
			case open:
			default:
				out = append(out, strings.TrimPrefix(p, "."))
			}
		}
		return out
	case []any:
		if s.Items == nil {
			return nil
		}
		var out []string
		for i, e := range x {
			out = append(out, undeclaredFields(s.Items.Value, e, path+"["+strconv.Itoa(i)+"]")...)
		}
		return out
	}
	return nil
}
