package main

import (
	"bytes"
	"context"
	"encoding/json"
	"go/version"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/mod/modfile"
)

// imageFacts are what the compose checks need to know about the image.
type imageFacts struct {
	dataDir string // ENV DATA_DIR of the final stage
}

// offlineResolver stands in for the registry: the lint needs a base image
// config for every FROM, and this check runs without network access to one.
// It answers with an image of the requested platform and no settings, so the
// rules that depend on a real base image's contents (platform mismatch, its
// ENV) cannot fire; all others run as in `docker build --check`.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	p := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p = *opt.ImageOpt.Platform
	}
	cfg := map[string]any{
		"os":           p.OS,
		"architecture": p.Architecture,
		"variant":      p.Variant,
		"rootfs": map[string]any{
			"type":     "layers",
			"diff_ids": []string{digest.FromString(ref).String()},
		},
		"config": map[string]any{
			"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		},
	}
	dt, err := json.Marshal(cfg)
	return ref, "", dt, err
}

func checkDockerfile(root string, ps *problems) imageFacts {
	var facts imageFacts
	dt, err := os.ReadFile(filepath.Join(root, dockerfilePath))
	if err != nil {
		ps.add(dockerfilePath, 0, "cannot read: %v", err)
		return facts
	}

	lintDockerfile(dt, ps)

	if opts, _, _, ok := parser.ParseDirective("check", dt); ok && strings.Contains(opts, "skip") {
		ps.add(dockerfilePath, 0, "the `# check=%s` directive turns BuildKit lint rules off; fix the finding instead", opts)
	}

	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		ps.add(dockerfilePath, 0, "cannot parse: %v", err)
		return facts
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		ps.add(dockerfilePath, 0, "cannot parse: %v", err)
		return facts
	}
	if len(stages) == 0 {
		ps.add(dockerfilePath, 0, "has no FROM")
		return facts
	}

	lex := shell.NewLex(res.EscapeToken)
	var global []string
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				global = append(global, kv.Key+"="+*kv.Value)
			}
		}
	}

	goDirective := ""
	if gm, err := os.ReadFile(filepath.Join(root, goModPath)); err == nil {
		if f, err := modfile.ParseLax(goModPath, gm, nil); err == nil && f.Go != nil {
			goDirective = f.Go.Version
		}
	}

	stageNames := map[string]bool{}
	for _, st := range stages {
		checkBaseImage(st, stageNames, lex, global, goDirective, ps)
		if st.Name != "" {
			stageNames[strings.ToLower(st.Name)] = true
		}
		for _, cmd := range st.Commands {
			if add, ok := cmd.(*instructions.AddCommand); ok {
				for _, src := range add.SourcePaths {
					if isRemote(src) {
						ps.add(dockerfilePath, line(add.Location()), "ADD %s fetches from the network at build time; vendor the file or download it in a RUN step that verifies a checksum", src)
					}
				}
			}
		}
	}

	facts = checkFinalStage(stages[len(stages)-1], ps)

	versionStamped := false
	for _, st := range stages {
		for _, cmd := range st.Commands {
			if run, ok := cmd.(*instructions.RunCommand); ok && strings.Contains(strings.Join(run.CmdLine, " "), "-X main.version=") {
				versionStamped = true
			}
		}
	}
	if !versionStamped {
		ps.add(dockerfilePath, 0, "no RUN builds with -ldflags \"-X main.version=...\", so `api --version` of the image says dev; pass ARG VERSION into the go build")
	}
	return facts
}

// lintDockerfile runs BuildKit's Dockerfile checks, those of `docker build
// --check`, and reports every warning and the build error, if any.
func lintDockerfile(dt []byte, ps *problems) {
	sm := llb.NewSourceMap(nil, dockerfilePath, "Dockerfile", dt)
	sm.Definition = &llb.Definition{} // only the file's name and text are reported
	res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
		SourceMap:    sm,
		MetaResolver: offlineResolver{},
	})
	if err != nil {
		ps.add(dockerfilePath, 0, "BuildKit lint failed: %v", err)
		return
	}
	for _, w := range res.Warnings {
		l := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 && w.Location.Ranges[0].Start != nil {
			l = int(w.Location.Ranges[0].Start.Line)
		}
		ps.add(dockerfilePath, l, "BuildKit %s: %s (%s)", w.RuleName, w.Detail, w.URL)
	}
	if res.Error != nil {
		l := 0
		if len(res.Error.Location.Ranges) > 0 && res.Error.Location.Ranges[0].Start != nil {
			l = int(res.Error.Location.Ranges[0].Start.Line)
		}
		ps.add(dockerfilePath, l, "BuildKit: %s", res.Error.Message)
	}
}

// checkBaseImage requires every external base image to name a tag other than
// latest (or a digest), and a golang image to be at least go.mod's go version.
func checkBaseImage(st instructions.Stage, stageNames map[string]bool, lex *shell.Lex, global []string, goDirective string, ps *problems) {
	l := line(st.Location)
	base, _, err := lex.ProcessWord(st.BaseName, shell.EnvsFromSlice(global))
	if err != nil {
		ps.add(dockerfilePath, l, "cannot expand FROM %s: %v", st.BaseName, err)
		return
	}
	if stageNames[strings.ToLower(base)] || base == "scratch" {
		return
	}
	ref, err := reference.ParseNormalizedNamed(base)
	if err != nil {
		ps.add(dockerfilePath, l, "FROM %s: not an image reference: %v", base, err)
		return
	}
	tagged, hasTag := ref.(reference.Tagged)
	_, hasDigest := ref.(reference.Digested)
	switch {
	case !hasTag && !hasDigest:
		ps.add(dockerfilePath, l, "FROM %s has no tag, so it builds on whatever latest is that day; pin a version tag", base)
	case hasTag && tagged.Tag() == "latest" && !hasDigest:
		ps.add(dockerfilePath, l, "FROM %s uses the moving tag latest; pin a version tag", base)
	}
	if hasTag && reference.Path(ref) == "library/golang" && goDirective != "" {
		v := "go" + goVersionPrefix.FindString(tagged.Tag())
		if !version.IsValid(v) {
			ps.add(dockerfilePath, l, "FROM %s: the tag names no Go version; pin one that is at least go.mod's go %s", base, goDirective)
		} else if version.Compare(v, "go"+goDirective) < 0 {
			ps.add(dockerfilePath, l, "FROM %s builds with %s, older than go.mod's go %s", base, v, goDirective)
		}
	}
}

var goVersionPrefix = regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,2}`)

// checkFinalStage checks what runs in production: a non-root USER, an
// exec-form HEALTHCHECK (distroless has no shell), DATA_DIR created with the
// runtime user as owner, and no metrics listener on a public address.
func checkFinalStage(st instructions.Stage, ps *problems) imageFacts {
	var facts imageFacts
	var user *instructions.UserCommand
	var health *instructions.HealthCheckCommand
	env := map[string]string{}
	type chownCopy struct{ dest, chown string }
	var copies []chownCopy
	for _, cmd := range st.Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c
		case *instructions.HealthCheckCommand:
			health = c
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env[kv.Key] = kv.Value
			}
		case *instructions.CopyCommand:
			copies = append(copies, chownCopy{dest: filepath.Clean(c.DestPath), chown: c.Chown})
		}
	}
	fl := line(st.Location)

	uid := ""
	switch {
	case user == nil:
		ps.add(dockerfilePath, fl, "the final stage sets no USER, so the container runs as the base image's user (root unless the base says otherwise); add USER 65532:65532")
	default:
		uid, _, _ = strings.Cut(strings.TrimSpace(user.User), ":")
		if uid == "" || uid == "root" || uid == "0" {
			ps.add(dockerfilePath, line(user.Location()), "USER %s runs the container as root; use a non-root user such as 65532:65532", user.User)
		}
	}

	switch {
	case health == nil:
		ps.add(dockerfilePath, fl, "the final stage has no HEALTHCHECK; add HEALTHCHECK CMD [\"/api\", \"healthcheck\"]")
	case len(health.Health.Test) == 0 || health.Health.Test[0] == "NONE":
		ps.add(dockerfilePath, line(health.Location()), "HEALTHCHECK NONE turns the health check off; use HEALTHCHECK CMD [\"/api\", \"healthcheck\"]")
	case health.Health.Test[0] != "CMD":
		ps.add(dockerfilePath, line(health.Location()), "HEALTHCHECK in shell form needs /bin/sh, which the distroless image lacks; use the exec form CMD [\"/api\", \"healthcheck\"]")
	}

	facts.dataDir = env["DATA_DIR"]
	if facts.dataDir == "" {
		ps.add(dockerfilePath, fl, "the final stage sets no ENV DATA_DIR, so the service writes to ./data under a read-only root; set DATA_DIR=/data")
	} else {
		owned := false
		for _, c := range copies {
			owner, _, _ := strings.Cut(c.chown, ":")
			if c.dest == filepath.Clean(facts.dataDir) && owner != "" && (owner == uid || (uid == "" && owner != "0" && owner != "root")) {
				owned = true
			}
		}
		if !owned {
			ps.add(dockerfilePath, fl, "DATA_DIR %s is not created owned by the runtime user; COPY --from=build --chown=%s:%s /data %s", facts.dataDir, orDefault(uid, "65532"), orDefault(uid, "65532"), facts.dataDir)
		}
	}

	if m, ok := env["METRICS_ADDR"]; ok && m != "" && !isLoopback(m) {
		ps.add(dockerfilePath, fl, "ENV METRICS_ADDR=%s turns metrics on for every container of the image on all interfaces; leave it unset and enable it where the network is internal (deploy/compose.yaml)", m)
	}
	return facts
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func isLoopback(addr string) bool {
	host := addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		host = addr[:i]
	}
	host = strings.Trim(host, "[]")
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

func isRemote(src string) bool {
	s := strings.ToLower(src)
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") ||
		strings.HasPrefix(s, "git@") || strings.HasPrefix(s, "git://") || strings.HasPrefix(s, "ssh://")
}

func line(r []parser.Range) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start.Line
}
