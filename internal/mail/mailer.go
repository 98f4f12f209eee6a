// Package mail delivers the messages the service sends: a durable outbox
// written in the same transaction as the change that causes a message, a
// background sender that drains it with retries, and the transports (SMTP,
// or a folder of files in development).
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"secureapi/internal/platform/logging"
)

// Message is one plain-text email.
type Message struct {
	To      string
	Subject string
	Body    string
}

// Mailer delivers messages.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// OutboxMailer writes each message to its own file in a directory, for
// development: the reset link can be opened from there without a mail server.
// The log line names the file but never its content, which holds the token.
type OutboxMailer struct {
	dir string
	log *slog.Logger
	now func() time.Time
}

var _ Mailer = (*OutboxMailer)(nil)

// NewOutboxMailer returns a mailer that writes into dir (created 0700; files 0600).
func NewOutboxMailer(dir string, log *slog.Logger) *OutboxMailer {
	return &OutboxMailer{dir: dir, log: log, now: time.Now}
}

// Send writes m as dir/<time>-<random>.eml.
func (o *OutboxMailer) Send(ctx context.Context, m Message) error {
	if err := checkHeaderValues(m.To, m.Subject); err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return fmt.Errorf("create outbox: %w", err)
	}
	now := o.now().UTC()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	path := filepath.Join(o.dir, now.Format("20060102T150405.000000000Z")+"-"+hex.EncodeToString(suffix)+".eml")

	var b bytes.Buffer
	fmt.Fprintf(&b, "To: %s\r\nSubject: %s\r\nDate: %s\r\n", m.To, mime.QEncoding.Encode("utf-8", m.Subject), now.Format(time.RFC1123Z))
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	// Kept readable (no transfer encoding) so a developer can copy the link.
	b.WriteString(m.Body)

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create outbox message: %w", err)
	}
	_, werr := f.Write(b.Bytes())
	if err := errors.Join(werr, f.Close()); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write outbox message: %w", err)
	}
	if o.log != nil {
		o.log.InfoContext(ctx, "mail written to outbox", "to", logging.MaskEmail(m.To), "subject", m.Subject, "file", path)
	}
	return nil
}

// SMTPMailer sends through an SMTP relay over a connection upgraded with
// STARTTLS. A server that does not offer STARTTLS is refused before any
// credentials or message content is sent.
type SMTPMailer struct {
	host     string
	port     int
	username string
	password string
	from     string
	timeout  time.Duration
	// tlsConfig is nil in production (system roots, ServerName = host);
	// tests set it to trust their own certificate.
	tlsConfig *tls.Config
}

var _ Mailer = (*SMTPMailer)(nil)

// ErrNoSTARTTLS means the SMTP server did not offer STARTTLS.
var ErrNoSTARTTLS = errors.New("smtp server does not offer STARTTLS")

// NewSMTPMailer returns a mailer for host:port that authenticates with
// username and password (PLAIN, only after TLS; none when username is empty)
// and sends as from.
func NewSMTPMailer(host string, port int, username, password, from string) *SMTPMailer {
	return &SMTPMailer{host: host, port: port, username: username, password: password, from: from, timeout: 30 * time.Second}
}

// Send delivers m. The whole exchange is bounded by ctx and a timeout.
func (s *SMTPMailer) Send(ctx context.Context, m Message) error {
	msg, err := formatMessage(s.from, m, time.Now(), messageID(s.from))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.host, strconv.Itoa(s.port)))
	if err != nil {
		return fmt.Errorf("smtp dial: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Closing the connection when ctx ends unblocks any read or write.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("smtp hello: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return ErrNoSTARTTLS
	}
	cfg := s.tlsConfig
	if cfg == nil {
		cfg = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	}
	if err := c.StartTLS(cfg); err != nil {
		return fmt.Errorf("smtp starttls: %w", err)
	}
	if s.username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.username, s.password, s.host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	addr, _ := mail.ParseAddress(m.To) // checked by formatMessage
	from, err := mail.ParseAddress(s.from)
	if err != nil {
		return fmt.Errorf("smtp sender: %w", err)
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	if err := c.Rcpt(addr.Address); err != nil {
		return fmt.Errorf("smtp rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	return c.Quit()
}

// formatMessage renders an RFC 5322 message: encoded subject, quoted-printable
// UTF-8 body with CRLF line ends.
func formatMessage(from string, m Message, date time.Time, msgID string) ([]byte, error) {
	if err := checkHeaderValues(from, m.To, m.Subject); err != nil {
		return nil, err
	}
	if _, err := mail.ParseAddress(m.To); err != nil {
		return nil, fmt.Errorf("mail recipient is not an address: %w", err)
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail sender is not an address: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: %s\r\n", msgID)
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// checkHeaderValues refuses line breaks, which would let a value add headers.
func checkHeaderValues(values ...string) error {
	for _, v := range values {
		if strings.ContainsAny(v, "\r\n") {
			return errors.New("mail header value contains a line break")
		}
	}
	return nil
}

func messageID(from string) string {
	domain := "localhost"
	if a, err := mail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			domain = d
		}
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "<" + hex.EncodeToString(b) + "@" + domain + ">"
}
