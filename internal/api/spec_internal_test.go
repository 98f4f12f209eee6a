package api

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	gen "secureapi/gen/api"
)

// The router reads the spec on the first request that needs it. Every
// generated route must then find its operation there: the validator looks
// operations up by Echo's route.
func TestEveryRouteHasAnOperation(t *testing.T) {
	idx, err := loadSpecIndex()
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	gen.RegisterHandlers(e, gen.NewStrictHandler(&Server{}, nil))
	if len(e.Routes()) < 10 {
		t.Fatalf("only %d generated routes", len(e.Routes()))
	}
	for _, r := range e.Routes() {
		if idx.ops[r.Path][r.Method] == nil {
			t.Errorf("route %s %s has no operation in the spec", r.Method, r.Path)
		}
	}
	if len(idx.downloadTypes) == 0 {
		t.Error("no download media types")
	}
}

// Health probes skip the validator and are answered before the spec is
// read. That is only the same as validating them while the spec gives them
// nothing to check: no parameters, no body, no security.
func TestProbesNeedNothingFromTheSpec(t *testing.T) {
	idx, err := loadSpecIndex()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		op := idx.ops[path][http.MethodGet]
		switch {
		case op == nil:
			t.Errorf("GET %s is not in the spec", path)
		case op.checked || op.body || len(op.security) > 0:
			t.Errorf("GET %s declares parameters, a body or security; the validator must not skip it", path)
		}
	}
}
