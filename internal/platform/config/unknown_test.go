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
