package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"secureapi/internal/auth"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/store"
	"secureapi/internal/testutil/testdb"
	"secureapi/internal/user"
)

func TestChangePassword(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		aliceID := e.register(t, "alice@example.com", "alice")
		e.register(t, "bob@example.com", "bob")
		alice := e.principal(t, e.login(t, "alice@example.com").AccessToken)
		other := e.principal(t, e.login(t, "alice@example.com").AccessToken)
		bob := e.principal(t, e.login(t, "bob@example.com").AccessToken)
		revoked := func(id string) bool {
			s, err := e.st.Sessions.Session(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			return s.RevokedAt != nil
		}

		err := e.svc.ChangePassword(ctx(), alice, "Wrong-Horse-9", "New-Horse-10")
		if ae := wantKind(t, err, apperr.Forbidden); ae.Detail != "Current password is incorrect." {
			t.Errorf("detail = %q", ae.Detail)
		}
		err = e.svc.ChangePassword(ctx(), alice, goodPassword, "short")
		if ae := wantKind(t, err, apperr.Invalid); ae.Fields[0].Field != "new_password" || ae.Fields[0].Location != "body" {
			t.Errorf("policy error = %+v", ae.Fields)
		}
		if revoked(other.SessionID) {
			t.Fatal("a failed change revoked sessions")
		}

		// A reset link mailed before the change must not outlive it.
		now := e.clock.Now()
		if err := e.st.Sessions.CreateMailToken(context.Background(), auth.MailToken{
			Hash: "pending-reset", UserID: aliceID, Purpose: auth.PurposePasswordReset, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ChangePassword(ctx(), alice, goodPassword, "New-Horse-10"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.Sessions.ConsumeMailToken(context.Background(), auth.PurposePasswordReset, "pending-reset", now); err == nil {
			t.Error("a reset link from before the change still works")
		}
		if revoked(alice.SessionID) {
			t.Error("the current session was revoked")
		}
		if !revoked(other.SessionID) {
			t.Error("the other session survived")
		}
		if revoked(bob.SessionID) {
			t.Error("another account's session was revoked")
		}
		s, _ := e.st.Sessions.Session(context.Background(), other.SessionID)
		if s.RevokeReason == nil || *s.RevokeReason != auth.ReasonPasswordChanged {
			t.Errorf("reason = %v", s.RevokeReason)
		}
		if _, err := e.svc.Login(ctx(), "alice@example.com", "New-Horse-10"); err != nil {
			t.Errorf("login with the new password: %v", err)
		}
		evs := e.events(t, auth.ActionPasswordChanged)
		var d map[string]any
		if len(evs) != 1 || json.Unmarshal([]byte(evs[0].Details), &d) != nil || d["revoked_sessions"] != float64(1) {
			t.Fatalf("events = %+v", evs)
		}
		for _, w := range []string{goodPassword, "New-Horse-10", "argon2id"} {
			if strings.Contains(evs[0].Details, w) {
				t.Errorf("audit details hold %q", w)
			}
		}
	})
}

func TestCreateAdmin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		e := newEnv(t, db)
		u, err := e.svc.CreateAdmin(ctx(), " Root@Example.com", "Root", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != user.RoleAdmin || !u.IsActive || u.Email != "root@example.com" || u.Username != "root" {
			t.Errorf("created %+v", u)
		}
		evs := e.events(t, auth.ActionAdminCreated)
		if len(evs) != 1 || evs[0].ActorID != nil || *evs[0].TargetID != u.ID {
			t.Errorf("events = %+v", evs)
		}
		if _, err := e.svc.CreateAdmin(ctx(), "root@example.com", "other", goodPassword); !errors.Is(err, user.ErrEmailTaken) {
			t.Errorf("duplicate email: %v", err)
		}
		bad := []struct{ email, username, pw, field string }{
			{"not-an-email", "x_admin", goodPassword, "email"},
			{"Name <a@example.com>", "x_admin", goodPassword, "email"},
			{"a@example.com", "no spaces", goodPassword, "username"},
			{"a@example.com", "ab", goodPassword, "username"},
			{"a@example.com", "x_admin", "weakpass", "password"},
		}
		for _, b := range bad {
			_, err := e.svc.CreateAdmin(ctx(), b.email, b.username, b.pw)
			if ae := wantKind(t, err, apperr.Invalid); ae.Fields[0].Field != b.field {
				t.Errorf("%+v: field %q", b, ae.Fields[0].Field)
			}
		}
	})
}
