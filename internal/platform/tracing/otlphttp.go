package tracing

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"golang.org/x/net/http/httpguts"
	"google.golang.org/protobuf/proto"
)

const (
	tracesPath     = "/v1/traces"
	defaultTimeout = 10 * time.Second
	// Retries of a throttled or unavailable collector.
	retryFirst  = time.Second
	retryBudget = time.Minute
	// errBodyMax bounds the response body quoted in an error; drainMax
	// bounds what is read to let the connection be reused.
	errBodyMax = 200
	drainMax   = 64 << 10
)

// otlpHTTPClient is an otlptrace.Client that sends OTLP/HTTP with protobuf
// encoding. It is safe for concurrent use.
//
// It exists because the library's own OTLP/HTTP exporter, otlptracehttp,
// imports google.golang.org/grpc through its internal otlpconfig package
// (opentelemetry-go issues #2579 and #8385). That links the whole gRPC stack
// into the binary and runs its package initialisers at every start, although
// this service only ever speaks OTLP/HTTP: about 1.8 MiB of idle memory and
// 2.6 ms of start-up for nothing. The transport-neutral otlptrace exporter
// still turns SDK spans into OTLP and has no gRPC dependency; this client
// only has to POST what it is given.
//
// Its configuration follows the OTLP exporter specification, as
// otlptracehttp does, except that a value it cannot use stops start-up
// where otlptracehttp would log it and carry on.
type otlpHTTPClient struct {
	endpoint string // the full URL requests go to
	target   string // endpoint without credentials or query, for errors
	headers  http.Header
	gzip     bool
	timeout  time.Duration // per request
	// backoff is the first wait before a retry; it doubles up to ten times
	// itself (1 s to 10 s).
	backoff time.Duration

	transport *http.Transport
	client    *http.Client
}

var _ otlptrace.Client = (*otlpHTTPClient)(nil)

// newOTLPHTTPClient reads the OTEL_EXPORTER_OTLP_* variables through lookup
// (os.LookupEnv in production). Any value it cannot use is an error that
// names the variable; header values, which usually hold API keys, and
// endpoint URLs, which may hold credentials, are never quoted.
func newOTLPHTTPClient(lookup func(string) (string, bool)) (*otlpHTTPClient, error) {
	endpoint, target, err := endpointFromEnv(lookup)
	if err != nil {
		return nil, err
	}
	c := &otlpHTTPClient{endpoint: endpoint, target: target, headers: http.Header{}, timeout: defaultTimeout, backoff: retryFirst}

	if v, name := setting(lookup, "HEADERS"); name != "" {
		if c.headers, err = parseHeaders(name, v); err != nil {
			return nil, err
		}
	}
	if v, name := setting(lookup, "TIMEOUT"); name != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 || ms > int64(24*time.Hour/time.Millisecond) {
			return nil, fmt.Errorf("%s must be a whole number of milliseconds from 1 to 86400000", name)
		}
		c.timeout = time.Duration(ms) * time.Millisecond
	}
	if v, name := setting(lookup, "COMPRESSION"); name != "" {
		switch strings.ToLower(v) {
		case "gzip":
			c.gzip = true
		case "none":
		default:
			return nil, fmt.Errorf("%s must be gzip or none", name)
		}
	}
	tlsConf, err := tlsFromEnv(lookup)
	if err != nil {
		return nil, err
	}

	// A clone keeps the defaults, HTTP_PROXY/HTTPS_PROXY/NO_PROXY included,
	// while CloseIdleConnections in Stop touches only this client's pool.
	c.transport = http.DefaultTransport.(*http.Transport).Clone()
	if tlsConf != nil {
		c.transport.TLSClientConfig = tlsConf
	}
	c.client = &http.Client{
		Transport: c.transport,
		// A redirect is an error: following it would hand the configured
		// headers, API keys included, to whatever host the answer names.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// Start has nothing to do: connections are opened by the first export.
func (c *otlpHTTPClient) Start(context.Context) error { return nil }

// Stop closes idle connections. The batch processor has flushed by the time
// it is called.
func (c *otlpHTTPClient) Stop(context.Context) error {
	c.transport.CloseIdleConnections()
	return nil
}

// UploadTraces POSTs one export, retrying 429, 502, 503 and 504 with
// exponential backoff (1 s doubling to 10 s, longer when the collector's
// Retry-After asks for more) until it succeeds, ctx is done, or a minute has gone.
func (c *otlpHTTPClient) UploadTraces(ctx context.Context, spans []*tracepb.ResourceSpans) error {
	// TracesData is field 1, repeated ResourceSpans, exactly like the
	// collector's ExportTraceServiceRequest, so its encoding is a valid
	// request body. The collector package that defines the request imports
	// gRPC, which is what this client exists to avoid.
	body, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: spans})
	if err != nil {
		return fmt.Errorf("encode spans: %w", err)
	}
	if c.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(body); err != nil {
			return fmt.Errorf("gzip spans: %w", err)
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("gzip spans: %w", err)
		}
		body = buf.Bytes()
	}

	giveUp := time.Now().Add(retryBudget)
	backoff := c.backoff
	for {
		retry, wait, err := c.send(ctx, body)
		if err == nil || !retry {
			return err
		}
		// A collector's Retry-After can lengthen the wait, never shorten it
		// below the backoff: one answering "0" to every attempt would
		// otherwise be hammered for the whole budget.
		wait = max(wait, backoff)
		backoff = min(2*backoff, 10*c.backoff)
		if time.Now().Add(wait).After(giveUp) {
			return fmt.Errorf("%w (not retried: the next attempt would come more than %s after the first)", err, retryBudget)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w (retry abandoned: %w)", err, ctx.Err())
		case <-timer.C:
		}
	}
}

// send makes one attempt. retry reports a status worth another attempt;
// wait is the delay the collector asked for, or -1 when it did not say.
func (c *otlpHTTPClient) send(ctx context.Context, body []byte) (retry bool, wait time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return false, 0, fmt.Errorf("OTLP request to %s: %w", c.target, err)
	}
	req.Header = c.headers.Clone()
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", "OTel OTLP Exporter Go/"+otlptrace.Version())
	if c.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}

	resp, err := c.client.Do(req)
	if err != nil {
		// url.Error repeats the whole URL; the query may hold a key.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return false, 0, fmt.Errorf("OTLP POST %s: %w", c.target, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainMax))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return false, 0, nil
	}

	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, errBodyMax))
	err = fmt.Errorf("OTLP POST %s: status %d, body %q", c.target, resp.StatusCode, strings.ToValidUTF8(string(snippet), "\uFFFD"))
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, retryAfter(resp.Header.Get("Retry-After")), err
	default:
		return false, 0, err
	}
}

// retryAfter reads a Retry-After given in seconds; -1 means none (the
// HTTP-date form is not used by collectors and is ignored). A long delay is
// clamped past the retry budget, which then ends the retries.
func retryAfter(v string) time.Duration {
	secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || secs < 0 {
		return -1
	}
	return time.Duration(min(secs, int64(2*retryBudget/time.Second))) * time.Second
}

// setting returns OTEL_EXPORTER_OTLP_TRACES_<suffix>, or else
// OTEL_EXPORTER_OTLP_<suffix>, with the name of the one used. As everywhere
// in OpenTelemetry, an empty variable counts as unset; name is "" when
// neither is set.
func setting(lookup func(string) (string, bool), suffix string) (value, name string) {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_" + suffix, "OTEL_EXPORTER_OTLP_" + suffix} {
		if v, ok := lookup(name); ok {
			if v = strings.TrimSpace(v); v != "" {
				return v, name
			}
		}
	}
	return "", ""
}

// endpointFromEnv applies the spec's rule: the traces endpoint is used as
// is, the general one is a base URL that /v1/traces is appended to. It
// returns the URL to post to and a form of it without userinfo or query.
func endpointFromEnv(lookup func(string) (string, bool)) (endpoint, target string, err error) {
	v, name := setting(lookup, "ENDPOINT")
	if name == "" {
		return "", "", errors.New("neither OTEL_EXPORTER_OTLP_TRACES_ENDPOINT nor OTEL_EXPORTER_OTLP_ENDPOINT is set")
	}
	// The parse error is not wrapped: it quotes the URL.
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("%s must be an http:// or https:// URL with a host", name)
	}
	if name == "OTEL_EXPORTER_OTLP_ENDPOINT" {
		u.Path = strings.TrimRight(u.Path, "/") + tracesPath
		if u.RawPath != "" {
			u.RawPath = strings.TrimRight(u.RawPath, "/") + tracesPath
		}
	}
	shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return u.String(), shown.String(), nil
}

// parseHeaders reads the spec's format: comma-separated key=value pairs,
// values percent-decoded. Errors point at the entry by position only, since
// what surrounds the mistake is likely a secret.
func parseHeaders(name, raw string) (http.Header, error) {
	h := http.Header{}
	for i, entry := range strings.Split(raw, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		k, v, ok := strings.Cut(entry, "=")
		k = strings.TrimSpace(k)
		if !ok || !httpguts.ValidHeaderFieldName(k) {
			return nil, fmt.Errorf("%s: entry %d is not key=value with a valid header name", name, i+1)
		}
		v, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%s: entry %d has a value with invalid percent-encoding", name, i+1)
		}
		if !httpguts.ValidHeaderFieldValue(v) {
			return nil, fmt.Errorf("%s: entry %d has a value with control characters", name, i+1)
		}
		h.Set(k, v)
	}
	return h, nil
}

// tlsFromEnv builds the TLS configuration from the CA bundle and client
// certificate variables, or returns nil when none is set. Whether TLS is used
// at all is decided by the endpoint's scheme.
func tlsFromEnv(lookup func(string) (string, bool)) (*tls.Config, error) {
	var conf tls.Config
	if file, name := setting(lookup, "CERTIFICATE"); name != "" {
		pem, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: %s holds no PEM certificate", name, file)
		}
		conf.RootCAs = pool
	}
	certFile, certName := setting(lookup, "CLIENT_CERTIFICATE")
	keyFile, keyName := setting(lookup, "CLIENT_KEY")
	switch {
	case certName == "" && keyName == "":
	case certName == "":
		return nil, fmt.Errorf("%s is set without OTEL_EXPORTER_OTLP[_TRACES]_CLIENT_CERTIFICATE", keyName)
	case keyName == "":
		return nil, fmt.Errorf("%s is set without OTEL_EXPORTER_OTLP[_TRACES]_CLIENT_KEY", certName)
	default:
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%s and %s: %w", certName, keyName, err)
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	if conf.RootCAs == nil && conf.Certificates == nil {
		return nil, nil
	}
	return &conf, nil
}
