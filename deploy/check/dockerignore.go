package main

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// mustIgnore are paths that `COPY . .` must never send to the builder:
// version control, local data, secrets, build outputs, test leftovers and
// editor files.
var mustIgnore = []string{
	".git/HEAD",
	"data/app.db",
	"data/uploads/x",
	".env",
	".env.production",
	"deploy/.env",
	"deploy/certs/key.pem",
	"api",
	"bin/api",
	"node_modules/x/index.js",
	"scripts/ts-client/node_modules/x/index.js",
	".task/checksum/generate",
	"jar",
	"hello.txt",
	"hello-download.txt",
	"api.test",
	".idea/workspace.xml",
	".vscode/settings.json",
	"internal/app/app.go.swp",
	"internal/app/app.go~",
}

// buildInputs are needed by the image build when git cannot list them.
var buildInputs = []string{"go.mod", "go.sum", "spec.go", "openapi.yaml", "migrations/embed.go", "cmd/api/main.go"}

func checkDockerignore(root string, ps *problems) {
	f, err := os.Open(filepath.Join(root, dockerignorePath))
	if err != nil {
		ps.add(dockerignorePath, 0, "cannot read (without it `COPY . .` sends .git, data/ and every .env to the builder): %v", err)
		return
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		ps.add(dockerignorePath, 0, "cannot parse: %v", err)
		return
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		ps.add(dockerignorePath, 0, "invalid pattern: %v", err)
		return
	}
	ignored := func(p string) bool {
		ok, err := pm.MatchesOrParentMatches(p)
		if err != nil {
			ps.add(dockerignorePath, 0, "cannot match %s: %v", p, err)
		}
		return ok
	}
	for _, p := range mustIgnore {
		if !ignored(p) {
			ps.add(dockerignorePath, 0, "does not exclude %s, so `COPY . .` sends it to the builder and into the build stage", p)
		}
	}
	var excluded []string
	for _, p := range neededByBuild(root) {
		if ignored(p) {
			excluded = append(excluded, p)
		}
	}
	switch n := len(excluded); {
	case n == 1:
		ps.add(dockerignorePath, 0, "excludes %s, which the image build needs", excluded[0])
	case n > 1:
		list := strings.Join(excluded[:min(n, 3)], ", ")
		if n > 3 {
			list += ", ..."
		}
		ps.add(dockerignorePath, 0, "excludes %d files the image build needs: %s", n, list)
	}
}

// neededByBuild lists the tracked files the service's module compiles or
// embeds: Go and SQL files, go.mod/go.sum and openapi.yaml, outside nested
// modules (such as this checker's).
func neededByBuild(root string) []string {
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil || len(out) == 0 {
		return buildInputs
	}
	files := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	var nested []string
	for _, f := range files {
		if path.Base(f) == "go.mod" && f != "go.mod" {
			nested = append(nested, path.Dir(f)+"/")
		}
	}
	var needed []string
	for _, f := range files {
		inNested := false
		for _, n := range nested {
			if strings.HasPrefix(f, n) {
				inNested = true
			}
		}
		if inNested {
			continue
		}
		switch {
		case f == "go.mod", f == "go.sum", f == "openapi.yaml",
			strings.HasSuffix(f, ".go"), strings.HasSuffix(f, ".sql"):
			needed = append(needed, f)
		}
	}
	return needed
}
