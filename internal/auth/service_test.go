package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"secureapi/internal/audit"
	"secureapi/internal/auth"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/platform/password"
	"secureapi/internal/store"
	"secureapi/internal/testutil/testdb"
	"secureapi/internal/user"
)

func TestRegister(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		name := "Alice"
		u, err := e.svc.Register(ctx(), "  Alice@Example.COM ", "Alice", goodPassword, &name)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "alice@example.com" || u.Username != "alice" || u.Role != user.RoleUser || !u.IsActive ||
			u.DisplayName == nil || *u.DisplayName != "Alice" {
			t.Fatalf("registered %+v", u)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || strings.Contains(u.PasswordHash, goodPassword) {
			t.Fatalf("password hash %q", u.PasswordHash)
		}
		if evs := e.events(t, "user.registered"); len(evs) != 1 || *evs[0].ActorID != u.ID {
			t.Fatalf("audit = %+v", evs)
		}

		_, err = e.svc.Register(ctx(), "ALICE@example.com", "other", goodPassword, nil)
		wantIs(t, err, user.ErrEmailTaken)
		_, err = e.svc.Register(ctx(), "other@example.com", "ALICE", goodPassword, nil)
		wantIs(t, err, user.ErrUsernameTaken)

		_, err = e.svc.Register(ctx(), "bob@example.com", "bob", "short1A", nil)
		ae := wantKind(t, err, apperr.Invalid)
		if len(ae.Fields) != 1 || ae.Fields[0].Field != "password" || ae.Fields[0].Message != "password must be at least 8 characters" {
			t.Fatalf("policy error = %+v", ae.Fields)
		}
		_, err = e.svc.Register(ctx(), "bob@example.com", "bob", "alllowercase1", nil)
		if ae := wantKind(t, err, apperr.Invalid); ae.Fields[0].Message != "password must contain an uppercase letter" {
			t.Fatalf("policy error = %+v", ae.Fields)
		}
	})
}

func TestLogin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		id := e.register(t, "alice@example.com", "alice")

		toks, err := e.svc.Login(ctx(), " ALICE@example.com", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		if toks.AccessToken == "" || toks.RefreshToken == "" || toks.ExpiresIn != 900 {
			t.Fatalf("tokens = %+v", toks)
		}
		p := e.principal(t, toks.AccessToken)
		if p.UserID != id || p.Role != "user" || p.SessionID == "" {
			t.Fatalf("principal = %+v", p)
		}
		sess, err := e.st.Sessions.Session(context.Background(), p.SessionID)
		if err != nil || sess.IP != "203.0.113.7" || sess.UserAgent != "test-agent/1.0" ||
			!sess.ExpiresAt.Equal(sess.CreatedAt.Add(24*time.Hour)) {
			t.Fatalf("session = %+v, %v", sess, err)
		}
		evs := e.events(t, "auth.login.succeeded")
		if len(evs) != 1 || *evs[0].TargetID != p.SessionID || *evs[0].IP != "203.0.113.7" {
			t.Fatalf("audit = %+v", evs)
		}
	})
}

func TestLoginFailuresLookAlike(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		e.register(t, "alice@example.com", "alice")
		bobID := e.register(t, "bob@example.com", "bob")
		bob, _ := e.st.Users.ByID(context.Background(), bobID)
		bob.IsActive = false
		if _, err := e.st.Users.Update(context.Background(), bob); err != nil {
			t.Fatal(err)
		}

		_, unknown := e.svc.Login(ctx(), "nobody@example.com", goodPassword)
		_, wrong := e.svc.Login(ctx(), "alice@example.com", "Wrong-Password-1")
		_, inactive := e.svc.Login(ctx(), "bob@example.com", goodPassword)
		for name, err := range map[string]error{"unknown": unknown, "wrong": wrong, "inactive": inactive} {
			if err != auth.ErrInvalidCredentials { //nolint:errorlint // the very same value is the point
				t.Errorf("%s account: err = %v, want ErrInvalidCredentials", name, err)
			}
		}

		evs := e.events(t, "auth.login.failed")
		reasons := map[string]string{}
		for _, ev := range evs {
			if strings.Contains(ev.Details, "@example.com\"") && !strings.Contains(ev.Details, "***@example.com") {
				t.Errorf("audit details hold a full email: %s", ev.Details)
			}
			if strings.Contains(ev.Details, "Password") {
				t.Errorf("audit details hold a password: %s", ev.Details)
			}
			reasons[ev.Details] = ev.Outcome
		}
		for _, want := range []string{
			`{"email":"n***@example.com","reason":"unknown_account"}`,
			`{"email":"a***@example.com","reason":"bad_password"}`,
			`{"email":"b***@example.com","reason":"inactive"}`,
		} {
			if reasons[want] != audit.Failure {
				t.Errorf("no failure event %s in %v", want, reasons)
			}
		}
		if strings.Contains(e.logs.String(), "alice@example.com") || strings.Contains(e.logs.String(), goodPassword) {
			t.Errorf("logs hold an email or password:\n%s", e.logs.String())
		}
	})
}

func TestLoginLockout(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		e.register(t, "alice@example.com", "alice")
		fail := func(n int) {
			t.Helper()
			for range n {
				if _, err := e.svc.Login(ctx(), "alice@example.com", "Wrong-Password-1"); err != auth.ErrInvalidCredentials { //nolint:errorlint
					t.Fatalf("wrong password: %v", err)
				}
			}
		}
		fail(5)
		_, err := e.svc.Login(ctx(), "Alice@example.com", goodPassword)
		ae := wantKind(t, err, apperr.TooManyRequests)
		if ae.RetryAfter != 15*time.Minute {
			t.Fatalf("Retry-After = %v, want 15m", ae.RetryAfter)
		}
		e.clock.Advance(10 * time.Minute)
		_, err = e.svc.Login(ctx(), "alice@example.com", goodPassword)
		if ae := wantKind(t, err, apperr.TooManyRequests); ae.RetryAfter != 5*time.Minute {
			t.Fatalf("Retry-After = %v, want 5m", ae.RetryAfter)
		}
		locked := 0
		for _, ev := range e.events(t, "auth.login.failed") {
			if strings.Contains(ev.Details, `"reason":"locked"`) {
				locked++
			}
		}
		if locked != 2 {
			t.Fatalf("%d locked events, want 2", locked)
		}

		// After the lockout, further failures lock again, for twice as long.
		e.clock.Advance(5 * time.Minute)
		fail(5)
		_, err = e.svc.Login(ctx(), "alice@example.com", goodPassword)
		if ae := wantKind(t, err, apperr.TooManyRequests); ae.RetryAfter != 30*time.Minute {
			t.Fatalf("second lockout Retry-After = %v, want 30m", ae.RetryAfter)
		}

		// Once it ends, the right password works and clears the count.
		e.clock.Advance(30 * time.Minute)
		e.login(t, "alice@example.com")
		fail(4)
		e.login(t, "alice@example.com")
		fail(4)
		e.login(t, "alice@example.com")

		// Failures spread wider than the window never lock.
		for range 8 {
			fail(1)
			e.clock.Advance(4 * time.Minute)
		}
		e.login(t, "alice@example.com")

		// Unknown accounts are throttled exactly like known ones.
		for range 5 {
			_, _ = e.svc.Login(ctx(), "ghost@example.com", goodPassword)
		}
		_, err = e.svc.Login(ctx(), "ghost@example.com", goodPassword)
		wantKind(t, err, apperr.TooManyRequests)
	})
}

// wrongPasswordBurst fires n concurrent wrong-password logins for alice,
// spread over svcs, and counts the answers.
func wrongPasswordBurst(t *testing.T, n int, svcs ...*auth.Service) (invalid, locked int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		svc := svcs[i%len(svcs)]
		wg.Go(func() {
			_, err := svc.Login(ctx(), "alice@example.com", "Wrong-Password-1")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		switch ae, _ := apperr.As(err); {
		case err == auth.ErrInvalidCredentials: //nolint:errorlint
			invalid++
		case ae != nil && ae.Kind == apperr.TooManyRequests:
			locked++
		default:
			t.Errorf("unexpected %v", err)
		}
	}
	return invalid, locked
}

func TestLoginBurstChecksAtMostMaxFailures(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		e.register(t, "alice@example.com", "alice")
		if invalid, locked := wrongPasswordBurst(t, 30, e.svc); invalid != 5 || locked != 25 {
			t.Fatalf("%d checked, %d locked; want 5 and 25", invalid, locked)
		}
	})
}

// A caller the saturated hasher cannot admit is refused at once with a
// retryable 429, before its attempt is counted against the account.
func TestLoginUnderSaturationDoesNotCount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		full := password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, password.Limits{Concurrency: 1, QueueDepth: 1})
		e := newEnv(t, db, func(d *auth.Deps) { d.Hasher = full })
		e.register(t, "alice@example.com", "alice")
		for range 2 {
			r, err := full.Reserve()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Release()
		}
		for _, email := range []string{"nobody@example.com", "alice@example.com"} {
			_, err := e.svc.Login(ctx(), email, goodPassword)
			ae := wantKind(t, err, apperr.TooManyRequests)
			if ae.RetryAfter != time.Second {
				t.Fatalf("Retry-After = %v", ae.RetryAfter)
			}
			if _, err := e.st.Sessions.Throttle(context.Background(), throttleKeyFor(email)); !errors.Is(err, auth.ErrNotFound) {
				t.Fatalf("a refused attempt was counted: %v", err)
			}
		}
	})
}

// An admitted caller whose wait for a slot outlasts the queue timeout is
// refused the same way, and the attempt counted on admission is refunded.
func TestLoginTimedOutInQueueIsRefunded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		// Slow parameters and one slot, so one background hash keeps it
		// busy for the whole login.
		slow := password.NewHasher(password.Params{MemoryKiB: 32 << 10, Iterations: 24, Parallelism: 1},
			password.Limits{Concurrency: 1, QueueDepth: 1, QueueTimeout: time.Millisecond})
		e := newEnv(t, db, func(d *auth.Deps) { d.Hasher = slow })
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = slow.Hash(context.Background(), "x")
		}()
		for {
			if inUse, _ := slow.Stats(); inUse == 1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		_, err := e.svc.Login(ctx(), "nobody@example.com", goodPassword)
		<-done
		wantKind(t, err, apperr.TooManyRequests)
		if _, err := e.st.Sessions.Throttle(context.Background(), throttleKeyFor("nobody@example.com")); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("a refused attempt was counted: %v", err)
		}
	})
}

func TestLoginRehashesOldParameters(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		id := e.register(t, "alice@example.com", "alice")
		stronger := password.NewHasher(password.Params{MemoryKiB: 128, Iterations: 1, Parallelism: 1}, password.Limits{Concurrency: 2, QueueDepth: 4, QueueTimeout: time.Second})
		e2 := newEnv(t, db, func(d *auth.Deps) { d.Hasher = stronger })
		e2.login(t, "alice@example.com")
		u, _ := e.st.Users.ByID(context.Background(), id)
		if !strings.Contains(u.PasswordHash, "m=128,") {
			t.Fatalf("hash not upgraded: %s", u.PasswordHash)
		}
		e2.login(t, "alice@example.com")
	})
}

func TestRefreshRotation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		e.register(t, "alice@example.com", "alice")
		first := e.login(t, "alice@example.com")
		sid := e.principal(t, first.AccessToken).SessionID

		e.clock.Advance(time.Second)
		second, err := e.svc.Refresh(ctx(), first.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
			t.Fatalf("refresh = %+v", second)
		}
		if p := e.principal(t, second.AccessToken); p.SessionID != sid {
			t.Fatalf("new access token for session %s, want %s", p.SessionID, sid)
		}

		// Within the grace period the previous token still gets an access
		// token, but no new refresh token.
		e.clock.Advance(5 * time.Second)
		grace, err := e.svc.Refresh(ctx(), first.RefreshToken)
		if err != nil || grace.RefreshToken != "" || grace.AccessToken == "" {
			t.Fatalf("grace refresh = %+v, %v", grace, err)
		}
		e.principal(t, grace.AccessToken)

		// After it, the same token is reuse: the whole session goes.
		e.clock.Advance(6 * time.Second)
		_, err = e.svc.Refresh(ctx(), first.RefreshToken)
		wantIs(t, err, auth.ErrInvalidRefresh)
		_, err = e.svc.Refresh(ctx(), second.RefreshToken)
		wantIs(t, err, auth.ErrInvalidRefresh)
		_, err = e.svc.Authenticate(ctx(), second.AccessToken)
		wantIs(t, err, auth.ErrUnauthorized)
		sess, _ := e.st.Sessions.Session(context.Background(), sid)
		if sess.RevokedAt == nil || *sess.RevokeReason != auth.ReasonRefreshReuse {
			t.Fatalf("session = %+v", sess)
		}
		if evs := e.events(t, "auth.refresh.reuse_detected"); len(evs) != 1 || *evs[0].TargetID != sid || evs[0].Outcome != audit.Failure {
			t.Fatalf("audit = %+v", evs)
		}

		for _, bad := range []string{"", "nonsense", strings.Repeat("a", 500)} {
			_, err := e.svc.Refresh(ctx(), bad)
			wantIs(t, err, auth.ErrInvalidRefresh)
		}
	})
}

func TestRefreshTwoRotationsOldRevokes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		e.register(t, "alice@example.com", "alice")
		t1 := e.login(t, "alice@example.com")
		e.clock.Advance(time.Second)
		t2, err := e.svc.Refresh(ctx(), t1.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
		t3, err := e.svc.Refresh(ctx(), t2.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		// Still inside the grace period of t1's rotation, but t1 is not the
		// token the current one replaced.
		_, err = e.svc.Refresh(ctx(), t1.RefreshToken)
		wantIs(t, err, auth.ErrInvalidRefresh)
		_, err = e.svc.Refresh(ctx(), t3.RefreshToken)
		wantIs(t, err, auth.ErrInvalidRefresh)
		_, err = e.svc.Authenticate(ctx(), t3.AccessToken)
		wantIs(t, err, auth.ErrUnauthorized)
	})
}

func TestRefreshConcurrentSameToken(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		e.register(t, "alice@example.com", "alice")
		first := e.login(t, "alice@example.com")
		sid := e.principal(t, first.AccessToken).SessionID
		e.clock.Advance(time.Second)

		const n = 50
		results := make([]auth.Tokens, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], errs[i] = e.svc.Refresh(ctx(), first.RefreshToken)
			})
		}
		close(start)
		wg.Wait()

		var rotated, accessOnly, refused int
		var winner string
		for i := range n {
			switch {
			case errs[i] == nil && results[i].RefreshToken != "":
				rotated++
				winner = results[i].RefreshToken
			case errs[i] == nil:
				accessOnly++
			case errors.Is(errs[i], auth.ErrInvalidRefresh):
				refused++
			default:
				t.Errorf("refresh %d: %v", i, errs[i])
			}
		}
		t.Logf("rotated %d, access only %d, refused %d", rotated, accessOnly, refused)
		if rotated != 1 {
			t.Fatalf("%d requests rotated the token, want exactly 1", rotated)
		}
		if n := countCurrent(t, e, sid); n != 1 {
			t.Fatalf("session has %d current refresh tokens, want 1", n)
		}
		cur, err := e.st.Sessions.CurrentRefreshToken(context.Background(), sid)
		if err != nil || cur.Hash != hashOf(winner) {
			t.Fatalf("current token is not the winner's: %+v, %v", cur, err)
		}
		if refused == 0 {
			if _, err := e.svc.Refresh(ctx(), winner); err != nil {
				t.Fatalf("winner's token refused: %v", err)
			}
		}
	})
}

func TestRefreshRefusedForDeadSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		id := e.register(t, "alice@example.com", "alice")

		expiring := e.login(t, "alice@example.com")
		e.clock.Advance(25 * time.Hour)
		_, err := e.svc.Refresh(ctx(), expiring.RefreshToken)
		wantIs(t, err, auth.ErrInvalidRefresh)

		deactivated := e.login(t, "alice@example.com")
		u, _ := e.st.Users.ByID(context.Background(), id)
		u.IsActive = false
		if _, err := e.st.Users.Update(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Refresh(ctx(), deactivated.RefreshToken)
		wantIs(t, err, auth.ErrInvalidRefresh)
		_, err = e.svc.Authenticate(ctx(), deactivated.AccessToken)
		wantIs(t, err, auth.ErrUnauthorized)
	})
}

func TestLogout(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		e.register(t, "alice@example.com", "alice")
		toks := e.login(t, "alice@example.com")
		other := e.login(t, "alice@example.com")
		sid := e.principal(t, toks.AccessToken).SessionID

		if err := e.svc.Logout(ctx(), toks.RefreshToken); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Authenticate(ctx(), toks.AccessToken)
		wantIs(t, err, auth.ErrUnauthorized)
		_, err = e.svc.Refresh(ctx(), toks.RefreshToken)
		wantIs(t, err, auth.ErrInvalidRefresh)
		e.principal(t, other.AccessToken) // other sessions live on

		for _, tok := range []string{toks.RefreshToken, "", "unknown"} {
			if err := e.svc.Logout(ctx(), tok); err != nil {
				t.Fatalf("Logout(%q) = %v", tok, err)
			}
		}
		if evs := e.events(t, "auth.logout"); len(evs) != 1 || *evs[0].TargetID != sid {
			t.Fatalf("audit = %+v", evs)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		e.register(t, "alice@example.com", "alice")
		bobID := e.register(t, "bob@example.com", "bob")
		toks := e.login(t, "alice@example.com")
		sid := e.principal(t, toks.AccessToken).SessionID

		forged, _, err := e.issuer.Issue(bobID, sid) // bob's id on alice's session
		if err != nil {
			t.Fatal(err)
		}
		unknownSession, _, _ := e.issuer.Issue(bobID, "0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10")
		malformedSession, _, _ := e.issuer.Issue(bobID, "not-a-uuid")
		for name, bearer := range map[string]string{
			"empty": "", "garbage": "abc.def.ghi", "session of another user": forged,
			"unknown session": unknownSession, "malformed session": malformedSession,
		} {
			_, err := e.svc.Authenticate(ctx(), bearer)
			if err != auth.ErrUnauthorized { //nolint:errorlint
				t.Errorf("%s: err = %v, want ErrUnauthorized", name, err)
			}
		}

		e.clock.Advance(16 * time.Minute)
		_, err = e.svc.Authenticate(ctx(), toks.AccessToken)
		wantIs(t, err, auth.ErrUnauthorized)
	})
}

func TestSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		e.register(t, "alice@example.com", "alice")
		e.register(t, "bob@example.com", "bob")
		a1 := e.principal(t, e.login(t, "alice@example.com").AccessToken)
		a2tok := e.login(t, "alice@example.com")
		a2 := e.principal(t, a2tok.AccessToken)
		a3tok := e.login(t, "alice@example.com")
		b1tok := e.login(t, "bob@example.com")
		b1 := e.principal(t, b1tok.AccessToken)

		list, err := e.svc.Sessions(ctx(), a1)
		if err != nil || len(list) != 3 || list[0].ID <= list[2].ID {
			t.Fatalf("Sessions = %+v, %v", list, err)
		}

		wantIs(t, e.svc.RevokeSession(ctx(), a1, b1.SessionID), auth.ErrNotFound)
		wantIs(t, e.svc.RevokeSession(ctx(), a1, "0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10"), auth.ErrNotFound)
		wantIs(t, e.svc.RevokeSession(ctx(), a1, "not-a-uuid"), auth.ErrNotFound)
		e.principal(t, b1tok.AccessToken)

		if err := e.svc.RevokeSession(ctx(), a1, a2.SessionID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(ctx(), a2tok.AccessToken)
		wantIs(t, err, auth.ErrUnauthorized)
		wantIs(t, e.svc.RevokeSession(ctx(), a1, a2.SessionID), auth.ErrNotFound)

		if err := e.svc.RevokeOtherSessions(ctx(), a1); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(ctx(), a3tok.AccessToken)
		wantIs(t, err, auth.ErrUnauthorized)
		list, err = e.svc.Sessions(ctx(), a1)
		if err != nil || len(list) != 1 || list[0].ID != a1.SessionID {
			t.Fatalf("Sessions after revoking others = %+v, %v", list, err)
		}
		evs := e.events(t, "session.revoked")
		if len(evs) != 2 || !strings.Contains(evs[0].Details, `"count":1`) {
			t.Fatalf("audit = %+v", evs)
		}
	})
}

func TestPasswordReset(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		id := e.register(t, "alice@example.com", "alice")
		old := e.login(t, "alice@example.com")
		for range 4 {
			_, _ = e.svc.Login(ctx(), "alice@example.com", "Wrong-Password-1")
		}

		if err := e.svc.ForgotPassword(ctx(), "nobody@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.readOutbox(t); err == nil {
			t.Fatal("mail sent for an unknown account")
		}
		if err := e.svc.ForgotPassword(ctx(), " Alice@Example.com"); err != nil {
			t.Fatal(err)
		}
		tok := e.outboxToken(t)
		if strings.Contains(e.logs.String(), tok) {
			t.Fatal("the reset token was logged")
		}
		evs := e.events(t, "user.password_reset_requested")
		if len(evs) != 2 || *evs[0].ActorID != id || evs[0].Outcome != audit.Success ||
			evs[1].ActorID != nil || evs[1].Outcome != audit.Failure ||
			evs[1].Details != `{"email":"n***@example.com","reason":"unknown_account"}` {
			t.Fatalf("audit = %+v", evs)
		}

		err := e.svc.ResetPassword(ctx(), tok, "weak")
		if ae := wantKind(t, err, apperr.Invalid); ae.Fields[0].Field != "new_password" {
			t.Fatalf("fields = %+v", ae.Fields)
		}
		if err := e.svc.ResetPassword(ctx(), tok, "Brand-New-Pass-7"); err != nil {
			t.Fatal(err)
		}
		err = e.svc.ResetPassword(ctx(), tok, "Brand-New-Pass-8")
		if ae := wantKind(t, err, apperr.Invalid); ae.Fields[0].Field != "token" {
			t.Fatalf("reused token: fields = %+v", ae.Fields)
		}
		_, err = e.svc.Authenticate(ctx(), old.AccessToken)
		wantIs(t, err, auth.ErrUnauthorized)
		_, err = e.svc.Login(ctx(), "alice@example.com", goodPassword)
		wantIs(t, err, auth.ErrInvalidCredentials)
		// The four earlier failures were cleared: one more does not lock.
		if _, err := e.svc.Login(ctx(), "alice@example.com", "Brand-New-Pass-7"); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
		if evs := e.events(t, "user.password_reset"); len(evs) != 1 || !strings.Contains(evs[0].Details, `"sessions_revoked":1`) {
			t.Fatalf("audit = %+v", evs)
		}

		// Tokens expire, and a new reset voids every outstanding token.
		_ = e.svc.ForgotPassword(ctx(), "alice@example.com")
		expired := e.outboxToken(t)
		e.clock.Advance(31 * time.Minute)
		wantKind(t, e.svc.ResetPassword(ctx(), expired, "Brand-New-Pass-9"), apperr.Invalid)

		e.clock.Advance(time.Second)
		_ = e.svc.ForgotPassword(ctx(), "alice@example.com")
		a := e.outboxToken(t)
		e.clock.Advance(time.Second)
		_ = e.svc.ForgotPassword(ctx(), "alice@example.com")
		b := e.outboxToken(t)
		if a == b {
			t.Fatal("two requests produced one token")
		}
		if err := e.svc.ResetPassword(ctx(), b, "Brand-New-Pass-9"); err != nil {
			t.Fatal(err)
		}
		wantKind(t, e.svc.ResetPassword(ctx(), a, "Brand-New-Pass-10"), apperr.Invalid)
		wantKind(t, e.svc.ResetPassword(ctx(), "", "Brand-New-Pass-10"), apperr.Invalid)
	})
}

func TestForgotPasswordSkipsInactiveAccounts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		id := e.register(t, "alice@example.com", "alice")
		u, _ := e.st.Users.ByID(context.Background(), id)
		u.IsActive = false
		if _, err := e.st.Users.Update(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ForgotPassword(ctx(), "alice@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.readOutbox(t); err == nil {
			t.Fatal("mail sent for an inactive account")
		}
	})
}

func TestAuditAppendsNeverDeadlockOnSQLite(t *testing.T) {
	// Every path above records audit events; this one runs the busiest
	// mix in parallel on one SQLite file, where a write nested in a
	// transaction would hang on the single writer connection.
	db := testdb.Open(t, "sqlite")
	e := newEnv(t, db)
	for i := range 4 {
		e.register(t, fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("user%d", i))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				email := fmt.Sprintf("u%d@example.com", i)
				for range 5 {
					toks, err := e.svc.Login(ctx(), email, goodPassword)
					if err != nil {
						t.Error(err)
						return
					}
					next, err := e.svc.Refresh(ctx(), toks.RefreshToken)
					if err != nil {
						t.Error(err)
						return
					}
					_, _ = e.svc.Login(ctx(), email, "Wrong-Password-1")
					_ = e.svc.Logout(ctx(), next.RefreshToken)
				}
			})
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("deadlock: auth operations did not finish")
	}
	if _, broken, err := e.audit.Verify(context.Background()); err != nil || broken != nil {
		t.Fatalf("audit chain: %+v, %v", broken, err)
	}
}

// Two instances (two services over one database) share one lockout: the
// throttle row is locked per attempt, so no failure is lost between them.
func TestLoginBurstAcrossInstancesChecksAtMostMaxFailures(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		a, b := newEnv(t, db), newEnv(t, db)
		a.register(t, "alice@example.com", "alice")
		if invalid, locked := wrongPasswordBurst(t, 30, a.svc, b.svc); invalid != 5 || locked != 25 {
			t.Fatalf("%d checked, %d locked; want 5 and 25", invalid, locked)
		}
	})
}
