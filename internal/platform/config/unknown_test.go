package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookAlikes(t *testing.T) {
	tests := []struct {
		name    string
		suggest string // "" when the name must not be reported
	}{
		{"LOG_LEVL", "LOG_LEVEL"},
		{"ACCES_TOKEN_TTL", "ACCESS_TOKEN_TTL"},
		{"DATABSE_URL", "DATABASE_URL"},
		{"LISTEN_ADRR", "LISTEN_ADDR"},
		{"RATE_LIMIT_PER_MINUTE", "RATE_LIMIT_IP_PER_MINUTE"}, // same family, a few edits away
		{"JWT_SECRET", "-"},                                   // same family, no close name
		{"LOG_LEVEL", ""},                                     // ours
		{"HOME", ""},
		{"PATH", ""},
		{"MAIL", ""},
		{"HTTP_PROXY", ""},
		{"SSL_CERT_FILE", ""},
		{"GOFLAGS", ""},
		{"TEST_DATABASE_URL", ""},
		{"OTEL_SERVICE_NAME", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := LookAlikes([]string{tc.name}, "the environment")
			if tc.suggest == "" {
				if len(got) != 0 {
					t.Fatalf("reported %v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Var != tc.name {
				t.Fatalf("got %v, want one warning for %s", got, tc.name)
			}
			if !strings.Contains(got[0].Message, "the environment") {
				t.Errorf("message does not name the source: %q", got[0].Message)
			}
			if tc.suggest != "-" && !strings.Contains(got[0].Message, "did you mean "+tc.suggest+"?") {
				t.Errorf("message %q does not suggest %s", got[0].Message, tc.suggest)
			}
		})
	}
}

func TestDotenvLookAlikesAreWarnings(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte("LOG_LEVL=debug\nCOMPOSE_PROJECT_NAME=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(func(string) (string, bool) { return "", false }, path)
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != "info" {
		t.Errorf("LogLevel = %q: a misspelt name must not take effect", c.LogLevel)
	}
	_, warnings := Check(c)
	var found []string
	for _, w := range warnings {
		if w.Var == "LOG_LEVL" {
			found = append(found, w.Message)
		}
		if w.Var == "COMPOSE_PROJECT_NAME" {
			t.Errorf("an unrelated .env entry was reported: %v", w)
		}
	}
	if len(found) != 1 || !strings.Contains(found[0], path) || !strings.Contains(found[0], "LOG_LEVEL") {
		t.Errorf("warnings for LOG_LEVL = %q, want one naming %s and suggesting LOG_LEVEL", found, path)
	}
}

// A comparison cut off at a limit gives the exact distance up to the limit
// and limit+1 beyond it.
func TestEditDistanceLimit(t *testing.T) {
	pairs := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"LOG_LEVEL", "LOG_LEVEL", 0},
		{"LOG_LEVL", "LOG_LEVEL", 1},
		{"LOG_LEVLE", "LOG_LEVEL", 1}, // a swap of neighbours
		{"LISTEN_ADRR", "LISTEN_ADDR", 1},
		{"DATABSE_ULR", "DATABASE_URL", 2},
		{"RATE_LIMIT_PER_MINUTE", "RATE_LIMIT_IP_PER_MINUTE", 3},
		{"HOME", "LOG_LEVEL", 7},
		{"", "ABC", 3},
	}
	for _, p := range pairs {
		for limit := 0; limit <= 10; limit++ {
			want := min(p.want, limit+1)
			if got := editDistance(p.a, p.b, limit, nil); got != want {
				t.Errorf("editDistance(%q, %q, %d) = %d, want %d", p.a, p.b, limit, got, want)
			}
			if got := editDistance(p.b, p.a, limit, nil); got != want {
				t.Errorf("editDistance(%q, %q, %d) = %d, want %d", p.b, p.a, limit, got, want)
			}
		}
	}
}

// Many unrelated variables, as a shell or a CI runner sets, are checked
// without a warning, and the look-alike among them is still found.
func TestLookAlikesAmongMany(t *testing.T) {
	names := []string{"LOG_LEVL"}
	for i := range 200 {
		names = append(names, "SOME_TOOL_SETTING_"+strings.Repeat("X", i%20))
	}
	got := LookAlikes(names, "the environment")
	if len(got) != 1 || got[0].Var != "LOG_LEVL" {
		t.Fatalf("got %v, want only LOG_LEVL", got)
	}
}
