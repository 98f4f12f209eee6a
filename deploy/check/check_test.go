package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the repository this module lives in.
const repoRoot = "../.."

var checkedFiles = []string{dockerfilePath, dockerignorePath, goModPath, appEnvExample, composePath, deployEnvExample, caddyfilePath}

func TestRepositoryPasses(t *testing.T) {
	for _, p := range run(repoRoot) {
		t.Error(p)
	}
}

// Each case breaks one thing in a copy of the real files and expects a
// problem that names it.
func TestBrokenFilesAreReported(t *testing.T) {
	cases := []struct {
		name, file, old, new, want string
	}{
		{"no USER", dockerfilePath, "USER 65532:65532\n", "", "sets no USER"},
		{"root USER", dockerfilePath, "USER 65532:65532", "USER root", "runs the container as root"},
		{"no HEALTHCHECK", dockerfilePath, "HEALTHCHECK ", "# ", "no HEALTHCHECK"},
		{"shell HEALTHCHECK", dockerfilePath, `CMD ["/api", "healthcheck"]`, "CMD /api healthcheck", "shell form"},
		{"ADD of a URL", dockerfilePath, "COPY go.mod go.sum ./", "ADD https://example.com/x /x", "fetches from the network"},
		{"unpinned base", dockerfilePath, "static-debian12:nonroot", "static-debian12", "has no tag"},
		{"latest base", dockerfilePath, "static-debian12:nonroot", "static-debian12:latest", "moving tag latest"},
		{"old Go", dockerfilePath, "golang:1.27.3", "golang:1.25.1", "older than go.mod's go"},
		{"public metrics", dockerfilePath, "DATA_DIR=/data", "DATA_DIR=/data METRICS_ADDR=:9090", "METRICS_ADDR=:9090"},
		{"data dir owner", dockerfilePath, "--chown=65532:65532 /data", "/data", "not created owned by the runtime user"},
		{"BuildKit rule", dockerfilePath, `CMD ["serve"]`, "CMD serve", "JSONArgsRecommended"},
		{"lint turned off", dockerfilePath, "# syntax=docker/dockerfile:1", "# syntax=docker/dockerfile:1\n# check=skip=all", "turns BuildKit lint rules off"},
		{"no version stamp", dockerfilePath, "-X main.version=${VERSION}", "", "main.version"},
		{".git sent", dockerignorePath, "\n.git\n", "\n", "does not exclude .git/HEAD"},
		{".env sent", dockerignorePath, "**/.env\n", "", "does not exclude .env,"},
		{"sources excluded", dockerignorePath, "\ndeploy\n", "\ndeploy\ncmd\n", "cmd/api/main.go"},
		{"proxy without DOMAIN", composePath, "      DOMAIN: ${DOMAIN:?set DOMAIN in deploy/.env}\n", "      OTHER: x\n", "does not receive DOMAIN"},
		{"no api healthcheck", composePath, `test: ["CMD", "/api", "healthcheck"]`, `test: ["CMD", "true"]`, "healthcheck is"},
		{"writable root", composePath, "read_only: true", "read_only: false", "read_only is not true"},
		{"no SMTP", composePath, "    SMTP_HOST: ${SMTP_HOST:?set SMTP_HOST in deploy/.env}\n", "", "does not receive SMTP_HOST"},
		{"inline secret", composePath, "SMTP_PASSWORD: ${SMTP_PASSWORD:-}", "SMTP_PASSWORD: hunter2", "SMTP_PASSWORD is written inline"},
		{"secret default", composePath, "SMTP_PASSWORD: ${SMTP_PASSWORD:-}", "SMTP_PASSWORD: ${SMTP_PASSWORD:-hunter2}", "SMTP_PASSWORD is written inline"},
		{"inline URL password", composePath, "secureapi:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in deploy/.env}@", "secureapi:s3cret@", "inline password in its URL"},
		{"unknown variable", composePath, "CORS_ALLOWED_ORIGINS: ${CORS", "CORS_ORIGIN: ${CORS", "CORS_ORIGIN is not a variable the service reads"},
		{"published api port", composePath, "  tmpfs: [/tmp]\n", "  tmpfs: [/tmp]\n  ports: [\"9090:9090\"]\n", "publishes ports"},
		{"uploads outside the volume", composePath, "UPLOAD_DIR: /data/uploads", "UPLOAD_DIR: /srv/uploads", "outside the /data volume"},
		{"bind mount data", composePath, "    - uploads:/data\n", "    - ./data:/data\n", "use a named volume"},
		{"unpinned image", composePath, "image: redis:7", "image: redis", "not pinned"},
		{"undocumented variable", composePath, "REDIS_URL: redis://redis:6379/0", "REDIS_URL: ${REDIS_URL}", "does not document"},
		{"invalid compose", composePath, "read_only: true", "read_only: [true]", "does not load"},
		{"secret in example", deployEnvExample, "JWT_SIGNING_KEY=\n", "JWT_SIGNING_KEY=abc\n", "JWT_SIGNING_KEY has a value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := copyFiles(t)
			p := filepath.Join(root, c.file)
			dt, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(dt), c.old) {
				t.Fatalf("%s no longer contains %q; update the case", c.file, c.old)
			}
			if err := os.WriteFile(p, []byte(strings.Replace(string(dt), c.old, c.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			ps := run(root)
			for _, pr := range ps {
				if strings.Contains(pr.String(), c.want) {
					return
				}
			}
			t.Errorf("no problem mentions %q; got %v", c.want, ps)
		})
	}
}

func copyFiles(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range checkedFiles {
		dt, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
