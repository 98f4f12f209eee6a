package api_test

import (
	"context"
	"maps"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"secureapi/internal/api/apitest"
	"secureapi/internal/audit"
	"secureapi/internal/mail"
	"secureapi/internal/testutil/testdb"
)

func withEnv(base map[string]string, extra map[string]string) map[string]string {
	out := maps.Clone(base)
	maps.Copy(out, extra)
	return out
}

func forgot(t *testing.T, e *apitest.Env, email string) {
	t.Helper()
	res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/forgot", Body: map[string]any{"email": email}})
	if res.Status != http.StatusAccepted || len(res.Body) != 0 {
		t.Fatalf("forgot(%s): %d %s", email, res.Status, res.Body)
	}
}

// Past MAIL_PER_RECIPIENT_PER_HOUR messages to one address within an hour,
// requests answer exactly as before and nothing more is sent; the drop is
// audited and logged with the address masked.
func TestMailPerRecipientLimit(t *testing.T) {
	apitest.Each(t, withEnv(authEnv, map[string]string{"MAIL_PER_RECIPIENT_PER_HOUR": "3"}), func(t *testing.T, e *apitest.Env) {
		register(t, e, "alice@example.com", "alice") // the verification link is the first message
		for range 4 {
			forgot(t, e, "alice@example.com")
		}
		if got := e.MailsTo(t, "alice@example.com"); len(got) != 3 {
			t.Fatalf("%d mails to alice, want 3 (the limit)", len(got))
		}
		evs, _, err := e.App.Audit.List(context.Background(), audit.Filter{Action: mail.ActionDropped, Limit: 10})
		if err != nil || len(evs) != 2 {
			t.Fatalf("mail.dropped events = %+v, %v", evs, err)
		}
		for _, ev := range evs {
			if strings.Contains(ev.Details, "alice@") || !strings.Contains(ev.Details, "a***@example.com") {
				t.Errorf("details = %s", ev.Details)
			}
		}
		logs := e.Logs.String()
		if !strings.Contains(logs, "recipient limit reached") || strings.Contains(logs, "alice@example.com") {
			t.Error("the drop is not logged, or logged with the full address")
		}
		// Another address has its own budget.
		register(t, e, "bob@example.com", "bob")
		forgot(t, e, "bob@example.com")
		if got := e.MailsTo(t, "bob@example.com"); len(got) != 2 {
			t.Fatalf("%d mails to bob, want 2", len(got))
		}
		// An hour after the first message there is room again.
		e.Clock.Advance(time.Hour + time.Second)
		forgot(t, e, "alice@example.com")
		if got := e.MailsTo(t, "alice@example.com"); len(got) != 4 {
			t.Fatalf("%d mails to alice after the hour, want 4", len(got))
		}
	})
}

// With proven mailboxes, registering a taken address again and again
// answers 202 every time but mails its owner at most the limit.
func TestMailLimitOnAccountExistsNotices(t *testing.T) {
	env := withEnv(authEnv, map[string]string{"MAIL_PER_RECIPIENT_PER_HOUR": "2", "REQUIRE_VERIFIED_EMAIL": "true"})
	apitest.Each(t, env, func(t *testing.T, e *apitest.Env) {
		for i := range 4 {
			res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/register",
				Body: map[string]any{"email": "alice@example.com", "username": "alice" + string(rune('a'+i)), "password": alicePassword}})
			if res.Status != http.StatusAccepted {
				t.Fatalf("register #%d: %d %s", i, res.Status, res.Body)
			}
		}
		if got := e.MailsTo(t, "alice@example.com"); len(got) != 2 {
			t.Fatalf("%d mails, want 2", len(got))
		}
	})
}

// Mail is written in the transaction of the change that causes it: a
// registration that fails mails nothing, and an unknown address gets no mail
// (and leaves nothing to send).
func TestMailGoesWithItsChange(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		register(t, e, "alice@example.com", "alice")
		res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/auth/register",
			Body: map[string]any{"email": "carol@example.com", "username": "alice", "password": alicePassword}})
		if res.Status != http.StatusConflict {
			t.Fatalf("taken username: %d %s", res.Status, res.Body)
		}
		forgot(t, e, "nobody@example.com")
		if got := e.MailsTo(t, "carol@example.com"); len(got) != 0 {
			t.Fatalf("a failed registration mailed: %+v", got)
		}
		if got := e.MailsTo(t, "nobody@example.com"); len(got) != 0 {
			t.Fatalf("an unknown address was mailed: %+v", got)
		}
		if n, err := e.App.Stores.Outbox.Pending(context.Background()); err != nil || n != 0 {
			t.Fatalf("pending = %d, %v", n, err)
		}
	})
}

// The app's own sender delivers without anyone draining: mail reaches the
// outbox folder shortly after the request that caused it.
func TestBackgroundSenderDelivers(t *testing.T) {
	apitest.Each(t, authEnv, func(t *testing.T, e *apitest.Env) {
		register(t, e, "alice@example.com", "alice")
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if n, _ := e.App.Stores.Outbox.Pending(context.Background()); n == 0 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("the background sender did not send the verification mail")
	})
}

// BenchmarkForgotPassword reports the median time of POST
// /api/v1/auth/password/forgot for an address with an account and one
// without, side by side (existing-µs, unknown-µs), with requests interleaved
// so that drift affects both alike. The figures are reported, not asserted.
func BenchmarkForgotPassword(b *testing.B) {
	for _, engine := range testdb.Engines() {
		b.Run(engine, func(b *testing.B) {
			e := apitest.New(b, engine, map[string]string{"MAIL_PER_RECIPIENT_PER_HOUR": "1000000000"})
			mkAccount(b, e, "known", "user")
			do := func(email string) time.Duration {
				r := apitest.NewHTTPRequest(b, apitest.Request{Method: "POST", URL: "/api/v1/auth/password/forgot",
					Body: map[string]any{"email": email}})
				start := time.Now()
				res := e.Serve(b, r)
				d := time.Since(start)
				if res.Status != http.StatusAccepted {
					b.Fatalf("status %d", res.Status)
				}
				return d
			}
			var known, unknown []time.Duration
			b.ResetTimer()
			for b.Loop() {
				known = append(known, do("known@example.com"))
				unknown = append(unknown, do("nobody@example.com"))
			}
			b.ReportMetric(float64(median(known).Microseconds()), "existing-µs")
			b.ReportMetric(float64(median(unknown).Microseconds()), "unknown-µs")
		})
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
