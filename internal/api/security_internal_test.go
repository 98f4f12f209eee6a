package api

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"secureapi"
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	spec, err := openapi3.NewLoader().LoadFromData(secureapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// The scope lists of openapi.yaml are the one place token scopes are
// enforced from; an operation asking for a scope tokens cannot be created
// with would be unreachable by tokens, so the router refuses to start.
func TestOperationSecurityComesFromTheSpec(t *testing.T) {
	spec := loadSpec(t)
	sec, err := operationSecurity(spec)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"GET /api/v1/files/:id/content": "files:read",
		"POST /api/v1/files":            "files:write",
		"GET /api/v1/users/me":          "profile:read",
	} {
		found := false
		for _, sr := range sec[key] {
			found = found || strings.Join(sr[schemePAT], " ") == want
		}
		if !found {
			t.Errorf("%s: requirements %v lack %s %s", key, sec[key], schemePAT, want)
		}
	}
	if reqs := sec["GET /api/v1/users"]; len(reqs) != 1 || reqs[0][schemeBearer] == nil {
		t.Errorf("GET /api/v1/users takes the document's default security, got %v", reqs)
	}

	spec.Paths.Find("/api/v1/files").Get.Security = &openapi3.SecurityRequirements{{schemePAT: {"files:admin"}}}
	if _, err := operationSecurity(spec); err == nil || !strings.Contains(err.Error(), `"files:admin"`) {
		t.Fatalf("undeclared scope: err = %v", err)
	}
}
