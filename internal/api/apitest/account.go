package apitest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"secureapi/internal/auth"
)

// Password is the password of every account NewAccount creates.
const Password = "Correct-Horse-9"

// Account is a test user with one logged-in session.
type Account struct {
	ID, Email, Username string
	// Token is an access token of the account's first session.
	Token string
	// Addr is the client address the account registered and logged in from.
	Addr string
}

// NewAccount registers name through the API (an admin through the same
// service the CLI uses) and logs it in through the API, from an address of
// its own so login limits never interfere between accounts.
func (e *Env) NewAccount(t testing.TB, name string, admin bool) Account {
	t.Helper()
	h := fnv.New32a()
	h.Write([]byte(name))
	a := Account{Email: name + "@example.com", Username: name, Addr: fmt.Sprintf("192.0.2.%d:40000", 20+h.Sum32()%200)}
	if admin {
		u, err := e.App.Auth.CreateAdmin(context.Background(), a.Email, name, Password)
		if err != nil {
			t.Fatalf("create admin %s: %v", name, err)
		}
		a.ID = u.ID
	} else {
		res := e.Do(t, Request{Method: "POST", URL: "/api/v1/auth/register", RemoteAddr: a.Addr,
			Body: map[string]string{"email": a.Email, "username": name, "password": Password}})
		if res.Status != http.StatusCreated {
			t.Fatalf("register %s: %d %s", name, res.Status, res.Body)
		}
		a.ID = res.JSON(t)["id"].(string)
	}
	res := e.Do(t, Request{Method: "POST", URL: "/api/v1/auth/login", RemoteAddr: a.Addr,
		Body: map[string]string{"email": a.Email, "password": Password}})
	if res.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", name, res.Status, res.Body)
	}
	a.Token = res.JSON(t)["access_token"].(string)
	return a
}

// NewSession opens another session for an account directly in the store (a
// second device) and returns an access token for it.
func (e *Env) NewSession(t testing.TB, userID string) string {
	t.Helper()
	now := e.Clock.Now()
	s, err := e.App.Stores.Sessions.CreateSession(context.Background(), auth.Session{
		ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, UserAgent: "test", IP: "192.0.2.10",
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.App.Tokens.Issue(userID, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Mail is one message the app wrote to its development outbox.
type Mail struct {
	To, Subject, Body string
}

// Mails sends every message due in the mail outbox (as the app's
// background sender would shortly) and returns every message in the
// development outbox folder under DATA_DIR, oldest first.
func (e *Env) Mails(t testing.TB) []Mail {
	t.Helper()
	e.DrainMail(t)
	dir := filepath.Join(e.DataDir, "outbox")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []Mail
	for _, de := range entries { // ReadDir sorts by name: time first
		if !strings.HasSuffix(de.Name(), ".eml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		head, body, _ := strings.Cut(string(b), "\r\n\r\n")
		m := Mail{Body: body}
		for _, line := range strings.Split(head, "\r\n") {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "To":
				m.To = v
			case "Subject":
				if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
					v = d
				}
				m.Subject = v
			}
		}
		out = append(out, m)
	}
	return out
}

// MailsTo returns the messages to one address, oldest first.
func (e *Env) MailsTo(t testing.TB, addr string) []Mail {
	t.Helper()
	var out []Mail
	for _, m := range e.Mails(t) {
		if strings.EqualFold(m.To, addr) {
			out = append(out, m)
		}
	}
	return out
}

// DrainMail sends every message due in the mail outbox now, through the
// app's sender, and waits for one it is sending in the background.
func (e *Env) DrainMail(t testing.TB) {
	t.Helper()
	if _, err := e.App.Mail.DrainOnce(context.Background()); err != nil {
		t.Fatalf("drain the mail outbox: %v", err)
	}
}

var linkRE = regexp.MustCompile(`https?://[^\s#]+(/[a-z-]+)#token=([A-Za-z0-9_-]+)`)

// LinkToken returns the token of the link to page (e.g. "/confirm-email")
// in the newest mail to addr that has one, or "".
func (e *Env) LinkToken(t testing.TB, addr, page string) string {
	t.Helper()
	ms := e.MailsTo(t, addr)
	for i := len(ms) - 1; i >= 0; i-- {
		for _, m := range linkRE.FindAllStringSubmatch(ms[i].Body, -1) {
			if m[1] == page {
				return m[2]
			}
		}
	}
	return ""
}
