package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"secureapi/internal/testutil/testcert"
)

func TestFormatMessage(t *testing.T) {
	body := "Hello,\n\nopen https://app.example.com/reset-password?token=" + strings.Repeat("Ab9_-", 9) + "\n\nThanks, Zoë\n"
	date := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	raw, err := formatMessage("Secure API <no-reply@example.com>", Message{To: "alice@example.com", Subject: "Réinitialiser", Body: body}, date, "<id@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatal("bare LF in message")
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"From": "Secure API <no-reply@example.com>", "To": "alice@example.com", "Subject": "=?utf-8?q?R=C3=A9initialiser?=",
		"Date": "Fri, 02 Jan 2026 15:04:05 +0000", "Message-Id": "<id@example.com>", "Mime-Version": "1.0",
		"Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "quoted-printable",
	} {
		if got := m.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	decoded, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(string(decoded), "\r\n", "\n"); got != body {
		t.Fatalf("body round trip:\n%q\nwant\n%q", got, body)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line longer than 78 characters: %q", line)
		}
	}
}

func TestFormatMessageRefusesHeaderInjection(t *testing.T) {
	for name, m := range map[string]Message{
		"to":         {To: "alice@example.com\r\nBcc: eve@example.com", Subject: "x"},
		"subject":    {To: "alice@example.com", Subject: "x\nBcc: eve@example.com"},
		"no address": {To: "not an address", Subject: "x"},
	} {
		if _, err := formatMessage("no-reply@example.com", m, time.Now(), "<x@y>"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := NewOutboxMailer(t.TempDir(), nil).Send(context.Background(), Message{To: "a@b.c", Subject: "x\r\nBcc: e@f.g"}); err == nil {
		t.Error("outbox accepted a header injection")
	}
}

func TestOutboxMailer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	var logs bytes.Buffer
	o := NewOutboxMailer(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	secret := "TOKEN-abcdefghijklmnopqrstuvwxyz0123456789"
	for range 2 {
		if err := o.Send(context.Background(), Message{To: "alice@example.com", Subject: "Reset", Body: "link ?token=" + secret + "\n"}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("outbox dir mode = %v, %v", st.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("%d files, want one per message", len(entries))
	}
	for _, en := range entries {
		info, _ := en.Info()
		if info.Mode().Perm() != 0o600 || !strings.HasSuffix(en.Name(), ".eml") {
			t.Fatalf("%s mode %v", en.Name(), info.Mode())
		}
		b, _ := os.ReadFile(filepath.Join(dir, en.Name()))
		if !bytes.Contains(b, []byte("?token="+secret)) || !bytes.Contains(b, []byte("To: alice@example.com\r\n")) {
			t.Fatalf("file content %q", b)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "mail written to outbox") || strings.Contains(out, secret) || strings.Contains(out, "alice@example.com") {
		t.Fatalf("log = %q", out)
	}
}

// fakeSMTP is a minimal SMTP server for one session. It offers STARTTLS
// when cert is set and records the commands it receives.
type fakeSMTP struct {
	ln   net.Listener
	cert *tls.Certificate
	mu   sync.Mutex
	cmds []string
	data string
	done chan struct{}
}

func startFakeSMTP(t *testing.T, cert *tls.Certificate) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSMTP{ln: ln, cert: cert, done: make(chan struct{})}
	t.Cleanup(func() { ln.Close() })
	go f.serve()
	return f
}

func (f *fakeSMTP) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

func (f *fakeSMTP) record(s string) {
	f.mu.Lock()
	f.cmds = append(f.cmds, s)
	f.mu.Unlock()
}

func (f *fakeSMTP) commands() []string {
	<-f.done
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmds...)
}

func (f *fakeSMTP) serve() {
	defer close(f.done)
	conn, err := f.ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	secure := false
	_ = tp.PrintfLine("220 fake ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		f.record(verb)
		switch verb {
		case "EHLO":
			if f.cert != nil && !secure {
				_ = tp.PrintfLine("250-fake\r\n250 STARTTLS")
			} else {
				_ = tp.PrintfLine("250-fake\r\n250 AUTH PLAIN")
			}
		case "STARTTLS":
			_ = tp.PrintfLine("220 go ahead")
			tc := tlsServer(conn, f.cert)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, secure = tc, true
			tp = textproto.NewConn(tc)
		case "AUTH":
			_ = tp.PrintfLine("235 ok")
		case "MAIL", "RCPT":
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go")
			b, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.data = string(b)
			f.mu.Unlock()
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("502 no")
		}
	}
}

func tlsServer(c net.Conn, cert *tls.Certificate) *tls.Conn {
	return tls.Server(c, &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12})
}

func TestSMTPMailerRefusesServerWithoutSTARTTLS(t *testing.T) {
	srv := startFakeSMTP(t, nil)
	m := NewSMTPMailer("127.0.0.1", srv.port(), "user", "hunter2", "no-reply@example.com")
	err := m.Send(context.Background(), Message{To: "alice@example.com", Subject: "x", Body: "secret link"})
	if !errors.Is(err, ErrNoSTARTTLS) {
		t.Fatalf("err = %v, want ErrNoSTARTTLS", err)
	}
	for _, c := range srv.commands() {
		if c == "AUTH" || c == "MAIL" || c == "DATA" {
			t.Fatalf("sent %s over plaintext: %v", c, srv.commands())
		}
	}
}

func TestSMTPMailerSendsAfterSTARTTLS(t *testing.T) {
	c := testcert.New(t, "127.0.0.1")
	cert, pool := &c.TLS, c.Pool
	srv := startFakeSMTP(t, cert)
	m := NewSMTPMailer("127.0.0.1", srv.port(), "user", "hunter2", "Secure API <no-reply@example.com>")
	m.tlsConfig = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if err := m.Send(context.Background(), Message{To: "alice@example.com", Subject: "Reset", Body: "the link\n"}); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(srv.commands(), " ")
	if got != "EHLO STARTTLS EHLO AUTH MAIL RCPT DATA QUIT" {
		t.Fatalf("commands = %s", got)
	}
	srv.mu.Lock()
	data := srv.data
	srv.mu.Unlock()
	// ReadDotBytes has turned CRLF into LF.
	if !strings.Contains(data, "\nTo: alice@example.com\n") || !strings.Contains(data, "the link") {
		t.Fatalf("data = %q", data)
	}
}

func TestSMTPMailerRefusesUntrustedCertificate(t *testing.T) {
	c := testcert.New(t, "127.0.0.1")
	cert := &c.TLS
	srv := startFakeSMTP(t, cert)
	m := NewSMTPMailer("127.0.0.1", srv.port(), "user", "hunter2", "no-reply@example.com")
	err := m.Send(context.Background(), Message{To: "alice@example.com", Subject: "x", Body: "y"})
	if err == nil || !strings.Contains(err.Error(), "starttls") {
		t.Fatalf("err = %v, want a STARTTLS failure", err)
	}
	if c := srv.commands(); strings.Contains(strings.Join(c, " "), "AUTH") {
		t.Fatalf("credentials sent: %v", c)
	}
}
