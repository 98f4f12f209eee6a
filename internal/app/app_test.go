package app_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"secureapi/internal/api/apitest"
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
			"password_hash_in_use", "password_hash_waiting", "go_goroutines",
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
