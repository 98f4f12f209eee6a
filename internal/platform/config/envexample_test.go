package config

import (
	"os"
	"strings"
	"testing"
)

// .env.example is the operator's reference: it must document every variable
// and nothing that does not exist, and it must load as a valid configuration.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	raw, err := os.ReadFile("../../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			listed[strings.TrimSpace(k)] = true
		}
	}
	for _, v := range Vars() {
		if !listed[v] {
			t.Errorf(".env.example does not document %s", v)
		}
		delete(listed, v)
	}
	for v := range listed {
		t.Errorf(".env.example lists %s, which the service does not read", v)
	}
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/.env", raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(func(string) (string, bool) { return "", false }, dir+"/.env"); err != nil {
		t.Fatalf(".env.example does not load: %v", err)
	}
}
