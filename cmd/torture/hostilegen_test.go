package main

import (
	"crypto/ed25519"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"secureapi"
)

// Every operation of openapi.yaml gets mutations, every mutation builds a
// request, and operations whose acceptance could write get hard mutations
// only.
func TestHostileCasesCoverTheSpec(t *testing.T) {
	spec, err := openapi3.NewLoader().LoadFromData(secureapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	ops := loadOps(spec)
	if len(ops) < 20 {
		t.Fatalf("only %d operations found", len(ops))
	}
	id := &identities{userToken: "u.u.u", adminToken: "a.a.a", userID: "u", adminID: "a", userSession: "s",
		victimEmail: "v@example.com", victimUsername: "victim", displayName: "T", issuer: "i", audience: "a",
		signing: ed25519.NewKeyFromSeed(make([]byte, 32)), kid: "k"}
	g := &genCtx{rng: mrand.New(mrand.NewPCG(1, 2)), id: id}
	for _, o := range ops {
		cases := casesFor(o)
		if len(cases) < 10 {
			t.Errorf("%s: only %d mutations", o.id, len(cases))
		}
		kinds := map[string]bool{}
		for _, c := range cases {
			if kinds[c.kind] {
				t.Errorf("%s: mutation %s twice", o.id, c.kind)
			}
			kinds[c.kind] = true
			r := c.build(g)
			if r.method != o.method || !strings.HasPrefix(r.path, "/") {
				t.Errorf("%s %s: request %s %s", o.id, c.kind, r.method, r.path)
			}
			if _, soft := harmless[o.id]; !soft && o.method != http.MethodGet {
				for _, prefix := range []string{"header/request-id", "query/unknown", "auth/lowercase", "raw/lf-only"} {
					if strings.HasPrefix(c.kind, prefix) {
						t.Errorf("%s may write when accepted but gets the soft mutation %s", o.id, c.kind)
					}
				}
			}
		}
		if o.secured && !kinds["auth/none"] {
			t.Errorf("%s is secured but never sent without credentials", o.id)
		}
		if o.json != nil && !kinds["body/not-json"] && !kinds["body/binary"] {
			t.Errorf("%s takes JSON but never gets a non-JSON body", o.id)
		}
	}
}
