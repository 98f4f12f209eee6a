package app_test

import (
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"secureapi/internal/api/apitest"
	"secureapi/internal/platform/token"
)

// The metrics registry exposes request, database-pool and hashing figures
// (served on METRICS_ADDR only; the public router has no /metrics).
func TestMetricsCoverRequestsPoolsAndHashing(t *testing.T) {
	apitest.Each(t, nil, func(t *testing.T, e *apitest.Env) {
		if res := e.Do(t, apitest.Request{URL: "/healthz"}); res.Status != 200 {
			t.Fatal(res.Status)
		}
		if res := e.Do(t, apitest.Request{URL: "/metrics"}); res.Status != 404 {
			t.Fatalf("public /metrics: %d", res.Status)
		}
		rec := httptest.NewRecorder()
		e.App.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Body)
		want := []string{
			`http_requests_total{method="GET",route="/healthz",status="200"} 1`,
			"http_request_duration_seconds_bucket", "http_requests_in_flight",
			"password_hash_in_use", "password_hash_waiting", "password_hash_refused_total 0", "go_goroutines",
			"session_view_fresh", "session_view_hits_total", "session_view_fallbacks_total",
		}
		if e.Engine == "sqlite" {
			want = append(want, `go_sql_max_open_connections{db_name="sqlite_writer"} 1`)
		} else {
			want = append(want, "pgxpool_max_conns")
		}
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				t.Errorf("metrics lack %q", w)
			}
		}
	})
}

// Keys from files rotate on ReloadKeys (what SIGHUP runs) without a restart:
// new tokens use the new key, old ones verify while their key is listed.
func TestSigningKeyRotationWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	signFile, verifyFile := filepath.Join(dir, "signing"), filepath.Join(dir, "verify")
	oldSeed, oldPub, _ := token.GenerateKey()
	os.WriteFile(signFile, []byte(oldSeed), 0o600)
	os.WriteFile(verifyFile, nil, 0o600)
	e := apitest.New(t, "sqlite", map[string]string{"JWT_SIGNING_KEY_FILE": signFile, "JWT_VERIFICATION_KEYS_FILE": verifyFile})
	oldTok := e.NewAccount(t, "rotor", false).Token
	me := func(tok string) int { return e.Do(t, apitest.Request{URL: "/api/v1/users/me", Token: tok}).Status }

	newSeed, _, _ := token.GenerateKey()
	os.WriteFile(signFile, []byte(newSeed), 0o600)
	os.WriteFile(verifyFile, []byte(oldPub+"\n"), 0o600)
	if err := e.App.ReloadKeys(); err != nil {
		t.Fatal(err)
	}
	if keys := e.Do(t, apitest.Request{URL: "/.well-known/jwks.json"}).JSON(t)["keys"].([]any); len(keys) != 2 {
		t.Fatalf("jwks has %d keys, want the new and the old", len(keys))
	}
	newTok := e.NewSession(t, e.NewAccount(t, "rotor2", false).ID)
	if me(oldTok) != 200 || me(newTok) != 200 {
		t.Fatalf("during rotation: old %d, new %d; both must verify", me(oldTok), me(newTok))
	}

	// Dropping the old key from the file ends its tokens; a broken file changes nothing.
	os.WriteFile(verifyFile, nil, 0o600)
	if err := e.App.ReloadKeys(); err != nil {
		t.Fatal(err)
	}
	if me(oldTok) != 401 || me(newTok) != 200 {
		t.Fatalf("after rotation: old %d (want 401), new %d", me(oldTok), me(newTok))
	}
	os.WriteFile(signFile, []byte("garbage"), 0o600)
	if err := e.App.ReloadKeys(); err == nil {
		t.Fatal("a broken key file was accepted")
	}
	if me(newTok) != 200 {
		t.Fatal("a failed reload changed the keys")
	}
}
