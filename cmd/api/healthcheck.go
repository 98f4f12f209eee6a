package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net/http"
	"time"
)

const healthcheckUsage = `usage: api healthcheck [--timeout 3s]
  Exit status 0 when the server configured by the environment (LISTEN_ADDR,
  TLS_CERT_FILE) answers GET /healthz with 200 on this host, 1 otherwise.
  For container health checks: the image has no shell or curl.
`

func cmdHealthcheck(ctx context.Context, env *cliEnv, args []string) error {
	var timeout *time.Duration
	if _, err := parseArgs(env, "healthcheck", healthcheckUsage, args, 0, func(fs *flag.FlagSet) {
		timeout = fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	}); err != nil {
		return err
	}
	cfg, err := env.config()
	if err != nil {
		return exitError{code: 1, msg: "unhealthy: " + err.Error()}
	}
	scheme := "http"
	client := &http.Client{Timeout: *timeout}
	if cfg.TLSEnabled() {
		scheme = "https"
		// The certificate names the public host, not the loopback address this
		// probe uses; only liveness is asked, nothing secret is sent.
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec
	}
	url := fmt.Sprintf("%s://%s/healthz", scheme, dialable(cfg.ListenAddr))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return exitError{code: 1, msg: "unhealthy: " + err.Error()}
	}
	res, err := client.Do(req)
	if err != nil {
		return exitError{code: 1, msg: "unhealthy: " + err.Error()}
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return exitError{code: 1, msg: fmt.Sprintf("unhealthy: %s answered %d", url, res.StatusCode)}
	}
	fmt.Fprintln(env.Stdout, "healthy")
	return nil
}
