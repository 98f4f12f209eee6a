package httpx

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// CertReloader serves a certificate from files and picks up a renewed one
// without a restart: on Reload (SIGHUP) or when the files' modification time
// changes (checked at most every few seconds during handshakes). A broken
// renewal keeps the previous certificate and is logged.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	checkEvery        time.Duration

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     string
	lastCheck time.Time
}

// NewCertReloader loads the pair once; it fails when the files are unusable.
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	r := &CertReloader{certFile: certFile, keyFile: keyFile, log: log, checkEvery: 5 * time.Second}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *CertReloader) fileStamp() string {
	var b strings.Builder
	for _, f := range []string{r.certFile, r.keyFile} {
		if st, err := os.Stat(f); err == nil {
			fmt.Fprintf(&b, "%d:%d;", st.ModTime().UnixNano(), st.Size())
		}
	}
	return b.String()
}

// Reload reads the certificate and key files again.
func (r *CertReloader) Reload() error {
	stamp := r.fileStamp()
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate: %w", err)
	}
	r.mu.Lock()
	r.cert, r.stamp, r.lastCheck = &cert, stamp, time.Now()
	r.mu.Unlock()
	return nil
}

// GetCertificate is the tls.Config hook.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	due := time.Since(r.lastCheck) >= r.checkEvery
	if due {
		r.lastCheck = time.Now()
	}
	stamp, cert := r.stamp, r.cert
	r.mu.Unlock()
	if due && r.fileStamp() != stamp {
		if err := r.Reload(); err != nil {
			r.log.Error("TLS certificate changed on disk but does not load; keeping the previous one", "err", err)
		} else {
			r.log.Info("TLS certificate reloaded")
			r.mu.Lock()
			cert = r.cert
			r.mu.Unlock()
		}
	}
	return cert, nil
}

// TLSConfig is the server's TLS policy: TLS 1.2 or newer, forward-secret AEAD
// suites only for TLS 1.2 (1.3's are fixed and all modern), HTTP/2 offered.
func TLSConfig(r *CertReloader) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		NextProtos: []string{"h2", "http/1.1"},
	}
}

// escapeQuery makes a raw query from a request line safe to put in a URL:
// net/http keeps it as sent, so it can hold a '#' (which would start a
// fragment) or a '%' that starts no escape, and the Location would not
// parse. Those two are escaped; everything else is kept as sent.
func escapeQuery(q string) string {
	if !strings.ContainsAny(q, "#%") {
		return q
	}
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '#':
			b.WriteString("%23")
		case c == '%' && (i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2])):
			b.WriteString("%25")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// RedirectHandler answers every plain-HTTP request with 308 to the same host
// and path over HTTPS on httpsPort ("" or "443" for the default port). With
// allowedHosts set, other hosts get 400 so the redirect cannot be aimed elsewhere.
func RedirectHandler(httpsPort string, allowedHosts []string) http.Handler {
	// The redirect listener has its own port, so entries match on the name only.
	allowed := hostMatcher(allowedHosts, true)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _ := splitHostPort(r.Host)
		if len(allowedHosts) > 0 && !allowed(r.Host) {
			http.Error(w, "host not allowed", http.StatusBadRequest)
			return
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if httpsPort != "" && httpsPort != "443" {
			host += ":" + httpsPort
		}
		// An asterisk-form target ("OPTIONS *") names no resource: send
		// the client to the root rather than glue "*" onto the host.
		target := r.URL.EscapedPath()
		if !strings.HasPrefix(target, "/") {
			target = "/"
		} else if r.URL.RawQuery != "" {
			target += "?" + escapeQuery(r.URL.RawQuery)
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "https://"+host+target, http.StatusPermanentRedirect)
	})
}
