package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"
)

// placeholder stands in for the values deploy/.env.example leaves empty
// (secrets), so that required `${VAR:?}` references interpolate.
const placeholder = "placeholder-from-deploy-check"

// requiredAPIEnv are the variables every API instance must receive; an entry
// with alternatives ("A|B") needs one of them.
var requiredAPIEnv = []string{
	"DATABASE_URL",
	"JWT_SIGNING_KEY|JWT_SIGNING_KEY_FILE",
	"ALLOWED_HOSTS",
	"CORS_ALLOWED_ORIGINS",
	"TRUSTED_PROXIES|TLS_CERT_FILE",
	"PUBLIC_BASE_URL",
	"MAIL_FROM",
	"SMTP_HOST",
	"SMTP_PORT",
	"SMTP_USERNAME",
	"SMTP_PASSWORD",
}

var (
	composeVarRef  = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))`)
	caddyEnvRef    = regexp.MustCompile(`\{\$([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}`)
	caddyUpstreams = regexp.MustCompile(`(?m)^\s*reverse_proxy\s+([^{\n]*)`)
	// A value that is only a reference to a variable, with no default or an empty one.
	onlyReference = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?\?[^}]*)|(?::?-))?\}$`)
	urlPassword   = regexp.MustCompile(`://[^/@\s]*?:([^@\s]*)@`)
)

func checkCompose(root string, img imageFacts, ps *problems) {
	deployDir := filepath.Join(root, filepath.Dir(composePath))
	raw, err := os.ReadFile(filepath.Join(root, composePath))
	if err != nil {
		ps.add(composePath, 0, "cannot read: %v", err)
		return
	}

	example, err := dotenv.GetEnvFromFile(map[string]string{}, []string{filepath.Join(root, deployEnvExample)})
	if err != nil {
		ps.add(deployEnvExample, 0, "cannot read: %v", err)
		return
	}
	for _, k := range sortedKeys(example) {
		if isSecretName(k) && example[k] != "" {
			ps.add(deployEnvExample, 0, "%s has a value; an example file is committed, so leave secrets empty", k)
		}
	}
	for _, name := range referencedVars(string(raw)) {
		if _, ok := example[name]; !ok {
			ps.add(composePath, 0, "uses ${%s}, which %s does not document; add it there", name, deployEnvExample)
		}
	}

	env := map[string]string{}
	for k, v := range example {
		if v == "" {
			v = placeholder
		}
		env[k] = v
	}
	details := types.ConfigDetails{
		WorkingDir:  deployDir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, composePath)}},
		Environment: env,
	}
	ctx := context.Background()
	project, err := loader.LoadWithContext(ctx, details, loader.WithProfiles([]string{"*"}))
	if err != nil {
		ps.add(composePath, 0, "does not load with the values of %s: %v", deployEnvExample, err)
		return
	}
	rawProject, err := loader.LoadWithContext(ctx, details, loader.WithProfiles([]string{"*"}), func(o *loader.Options) {
		o.SkipInterpolation = true
		o.SkipValidation = true
		o.SkipConsistencyCheck = true
	})
	if err != nil {
		ps.add(composePath, 0, "cannot be read without interpolation: %v", err)
		return
	}

	checkInlineSecrets(rawProject, ps)

	known := appVariables(root, ps)
	dataDir := img.dataDir
	if dataDir == "" {
		dataDir = "/data"
	}

	var apiImages []string
	for _, s := range project.Services {
		if s.Build != nil && s.Image != "" {
			apiImages = append(apiImages, s.Image)
		}
	}
	isAPI := func(s types.ServiceConfig) bool { return s.Build != nil || slices.Contains(apiImages, s.Image) }

	var servers []string
	dataVolumes := map[string][]string{}
	for _, name := range sortedKeys(project.Services) {
		s := project.Services[name]
		if !isAPI(s) {
			checkImagePinned(name, s.Image, ps)
			continue
		}
		oneOff := s.Restart == types.RestartPolicyNo
		if !oneOff {
			servers = append(servers, name)
		}
		checkAPIService(name, s, oneOff, dataDir, known, ps)
		for _, v := range s.Volumes {
			if path.Clean(v.Target) == path.Clean(dataDir) {
				dataVolumes[v.Source] = append(dataVolumes[v.Source], name)
			}
		}
	}
	if len(servers) == 0 {
		ps.add(composePath, 0, "no long-running service builds the image (build: ..)")
	}
	if len(dataVolumes) > 1 {
		var mounts []string
		for _, v := range sortedKeys(dataVolumes) {
			mounts = append(mounts, fmt.Sprintf("%s by %s", v, strings.Join(dataVolumes[v], ", ")))
		}
		ps.add(composePath, 0, "the API services mount different volumes on %s (%s); uploads must be shared by every instance", dataDir, strings.Join(mounts, "; "))
	}

	checkProxy(root, project, servers, ps)
}

// checkAPIService applies the rules for a service running the image.
func checkAPIService(name string, s types.ServiceConfig, oneOff bool, dataDir string, known map[string]bool, ps *problems) {
	svc := "service " + name
	if !s.ReadOnly {
		ps.add(composePath, 0, "%s: read_only is not true; the image writes only to %s", svc, dataDir)
	}
	if u, _, _ := strings.Cut(s.User, ":"); u == "0" || u == "root" {
		ps.add(composePath, 0, "%s: user %s runs the container as root", svc, s.User)
	}
	if !slices.ContainsFunc(s.CapDrop, func(c string) bool { return strings.EqualFold(c, "ALL") }) {
		ps.add(composePath, 0, "%s: cap_drop does not include ALL; the service needs no Linux capabilities", svc)
	}
	if !slices.ContainsFunc(s.SecurityOpt, func(o string) bool { return o == "no-new-privileges" || o == "no-new-privileges:true" }) {
		ps.add(composePath, 0, "%s: security_opt lacks no-new-privileges:true", svc)
	}
	if len(s.Ports) > 0 {
		ps.add(composePath, 0, "%s publishes ports; only the proxy is public (the metrics listener must stay internal)", svc)
	}

	envValue := func(k string) (string, bool) {
		v, ok := s.Environment[k]
		if !ok || v == nil {
			return "", false
		}
		return *v, true
	}
	if v, _ := envValue("APP_ENV"); v != "production" {
		ps.add(composePath, 0, "%s: APP_ENV is %q, not production, so the production safeguards are off", svc, v)
	}
	for _, req := range requiredAPIEnv {
		found := false
		for _, k := range strings.Split(req, "|") {
			if _, ok := s.Environment[k]; ok {
				found = true
			}
		}
		if !found {
			ps.add(composePath, 0, "%s does not receive %s from deploy/.env", svc, strings.ReplaceAll(req, "|", " or "))
		}
	}
	if known != nil {
		for _, k := range sortedKeys(s.Environment) {
			if !known[k] && !strings.HasPrefix(k, "OTEL_") {
				ps.add(composePath, 0, "%s: environment %s is not a variable the service reads (see %s)", svc, k, appEnvExample)
			}
		}
	}

	if !oneOff {
		switch hc := s.HealthCheck; {
		case hc == nil:
			ps.add(composePath, 0, "%s has no healthcheck; add test: [\"CMD\", \"/api\", \"healthcheck\"]", svc)
		case hc.Disable:
			ps.add(composePath, 0, "%s disables its healthcheck; only one-off commands (restart: \"no\") may", svc)
		case !slices.Equal(hc.Test, []string{"CMD", "/api", "healthcheck"}):
			ps.add(composePath, 0, "%s healthcheck is %q; use [\"CMD\", \"/api\", \"healthcheck\"] (the image has no shell or curl)", svc, hc.Test)
		}
	}

	var dataMount *types.ServiceVolumeConfig
	for i, v := range s.Volumes {
		if path.Clean(v.Target) == path.Clean(dataDir) {
			dataMount = &s.Volumes[i]
		}
	}
	switch {
	case dataMount == nil:
		ps.add(composePath, 0, "%s mounts no volume on DATA_DIR %s, which is the only writable path under read_only", svc, dataDir)
	case dataMount.Type != types.VolumeTypeVolume:
		ps.add(composePath, 0, "%s mounts a %s on %s; use a named volume, which takes the image's nonroot owner of %s on first use", svc, dataMount.Type, dataDir, dataDir)
	case dataMount.ReadOnly:
		ps.add(composePath, 0, "%s mounts %s read-only; uploads are written there", svc, dataDir)
	}
	if up, ok := envValue("UPLOAD_DIR"); ok && up != "" {
		if rel, err := filepath.Rel(dataDir, up); err != nil || strings.HasPrefix(rel, "..") {
			ps.add(composePath, 0, "%s: UPLOAD_DIR %s is outside the %s volume, so it is not writable under read_only nor shared", svc, up, dataDir)
		}
	}
}

// checkProxy requires the service that mounts the Caddyfile to receive every
// {$VAR} the Caddyfile uses, and its upstreams to be running API services on
// a network the proxy shares.
func checkProxy(root string, project *types.Project, servers []string, ps *problems) {
	caddy, err := os.ReadFile(filepath.Join(root, caddyfilePath))
	if err != nil {
		ps.add(caddyfilePath, 0, "cannot read: %v", err)
		return
	}
	var proxies []string
	for _, name := range sortedKeys(project.Services) {
		for _, v := range project.Services[name].Volumes {
			if v.Type == types.VolumeTypeBind && filepath.Clean(v.Source) == filepath.Join(root, caddyfilePath) {
				proxies = append(proxies, name)
			}
		}
	}
	if len(proxies) == 0 {
		ps.add(composePath, 0, "no service mounts %s", caddyfilePath)
		return
	}
	for _, name := range proxies {
		s := project.Services[name]
		for _, m := range caddyEnvRef.FindAllStringSubmatch(string(caddy), -1) {
			v, ok := s.Environment[m[1]]
			if !ok || v == nil || *v == "" {
				ps.add(composePath, 0, "service %s mounts %s but does not receive %s, which the Caddyfile uses as {$%s}; add it to its environment", name, caddyfilePath, m[1], m[1])
			}
		}
		for _, m := range caddyUpstreams.FindAllStringSubmatch(string(caddy), -1) {
			for _, up := range strings.Fields(m[1]) {
				host, _, _ := strings.Cut(up, ":")
				target, ok := project.Services[host]
				switch {
				case !ok:
					ps.add(caddyfilePath, 0, "reverse_proxy to %s, which is not a service of %s", up, composePath)
				case !slices.Contains(servers, host):
					ps.add(caddyfilePath, 0, "reverse_proxy to %s, which is not a long-running API service", up)
				case !sharesNetwork(s, target):
					ps.add(composePath, 0, "service %s cannot reach %s: they share no network", name, host)
				}
			}
		}
		if len(s.Ports) == 0 {
			ps.add(composePath, 0, "service %s (the proxy) publishes no port", name)
		}
	}
}

func sharesNetwork(a, b types.ServiceConfig) bool {
	na, nb := a.Networks, b.Networks
	if len(na) == 0 {
		na = map[string]*types.ServiceNetworkConfig{"default": nil}
	}
	if len(nb) == 0 {
		nb = map[string]*types.ServiceNetworkConfig{"default": nil}
	}
	for n := range na {
		if _, ok := nb[n]; ok {
			return true
		}
	}
	return false
}

// checkInlineSecrets looks at the file before interpolation: a secret must
// come from deploy/.env through ${VAR} (no default), never be written here.
func checkInlineSecrets(raw *types.Project, ps *problems) {
	for _, name := range sortedKeys(raw.Services) {
		s := raw.Services[name]
		for _, k := range sortedKeys(s.Environment) {
			v := s.Environment[k]
			if v == nil || *v == "" {
				continue
			}
			if isSecretName(k) && !onlyReference.MatchString(*v) {
				ps.add(composePath, 0, "service %s: %s is written inline; take it from deploy/.env as ${%s} (no default)", name, k, k)
			}
			if m := urlPassword.FindStringSubmatch(*v); m != nil && !onlyReference.MatchString(m[1]) {
				ps.add(composePath, 0, "service %s: %s has an inline password in its URL; take it from deploy/.env as ${VAR} (no default)", name, k)
			}
		}
	}
}

func checkImagePinned(service, image string, ps *problems) {
	if image == "" {
		ps.add(composePath, 0, "service %s has neither image nor build", service)
		return
	}
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		ps.add(composePath, 0, "service %s: image %s is not a valid reference: %v", service, image, err)
		return
	}
	tagged, hasTag := ref.(reference.Tagged)
	_, hasDigest := ref.(reference.Digested)
	if !hasDigest && (!hasTag || tagged.Tag() == "latest") {
		ps.add(composePath, 0, "service %s: image %s is not pinned to a version tag", service, image)
	}
}

// appVariables are the variable names the service reads, as documented in
// the root .env.example (which lists every one).
func appVariables(root string, ps *problems) map[string]bool {
	m, err := dotenv.GetEnvFromFile(map[string]string{}, []string{filepath.Join(root, appEnvExample)})
	if err != nil {
		ps.add(appEnvExample, 0, "cannot read: %v", err)
		return nil
	}
	known := map[string]bool{}
	for k := range m {
		known[k] = true
	}
	return known
}

func isSecretName(k string) bool {
	k = strings.ToUpper(k)
	if strings.HasSuffix(k, "_FILE") {
		return false
	}
	for _, w := range []string{"PASSWORD", "SECRET", "TOKEN", "PRIVATE"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return strings.HasSuffix(k, "_KEY") || strings.HasSuffix(k, "_KEYS")
}

// referencedVars lists the variables a compose file interpolates ($$ escapes
// a literal dollar and is skipped).
func referencedVars(s string) []string {
	s = strings.ReplaceAll(s, "$$", "")
	seen := map[string]bool{}
	for _, m := range composeVarRef.FindAllStringSubmatch(s, -1) {
		seen[m[1]+m[2]] = true
	}
	return sortedKeys(seen)
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
