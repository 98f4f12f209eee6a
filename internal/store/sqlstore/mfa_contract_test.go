package sqlstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"secureapi/internal/auth"
	"secureapi/internal/pat"
	"secureapi/internal/store"
	"secureapi/internal/testutil/testdb"
)

func TestMFAStoreContract(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		st := store.New(db)
		s := st.MFA
		alice := mkUser(t, st.Users, "alice@example.com", "alice")
		now := time.Now().UTC().Truncate(time.Second)

		if _, err := s.TOTP(ctx, alice.ID); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("TOTP of an account without one: %v", err)
		}
		if ok, err := s.StartTOTP(ctx, alice.ID, "sealed-1", now); !ok || err != nil {
			t.Fatalf("StartTOTP = %v, %v", ok, err)
		}
		if ok, err := s.StartTOTP(ctx, alice.ID, "sealed-2", now); !ok || err != nil {
			t.Fatalf("StartTOTP over a pending one = %v, %v", ok, err)
		}
		if ok, _ := s.ConfirmTOTP(ctx, alice.ID, "sealed-1", 100, now); ok {
			t.Fatal("confirmed a secret that was replaced by a new enrolment")
		}
		if ok, err := s.ConfirmTOTP(ctx, alice.ID, "sealed-2", 100, now); !ok || err != nil {
			t.Fatalf("ConfirmTOTP = %v, %v", ok, err)
		}
		got, err := s.TOTP(ctx, alice.ID)
		if err != nil || got.Secret != "sealed-2" || got.ConfirmedAt == nil || !got.ConfirmedAt.Equal(now) || got.LastUsedStep != 100 {
			t.Fatalf("TOTP = %+v, %v", got, err)
		}
		if ok, _ := s.StartTOTP(ctx, alice.ID, "sealed-3", now); ok {
			t.Fatal("a new enrolment replaced a confirmed factor")
		}
		if n, _ := s.CountConfirmedTOTP(ctx); n != 1 {
			t.Fatalf("CountConfirmedTOTP = %d", n)
		}

		for _, c := range []struct {
			step int64
			want bool
		}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}} {
			if ok, err := s.UseTOTPStep(ctx, alice.ID, c.step, now); ok != c.want || err != nil {
				t.Fatalf("UseTOTPStep(%d) = %v, %v; want %v", c.step, ok, err, c.want)
			}
		}

		if ok, _ := s.ResealTOTP(ctx, alice.ID, "stale", "sealed-4"); ok {
			t.Fatal("ResealTOTP replaced a value that was not the stored one")
		}
		if ok, err := s.ResealTOTP(ctx, alice.ID, "sealed-2", "sealed-4"); !ok || err != nil {
			t.Fatalf("ResealTOTP = %v, %v", ok, err)
		}
		bob := mkUser(t, st.Users, "bob@example.com", "bob")
		if _, err := s.StartTOTP(ctx, bob.ID, "sealed-b", now); err != nil {
			t.Fatal(err)
		}
		var seen []string
		for after := ""; ; {
			page, err := s.TOTPSecretsAfter(ctx, after, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			seen = append(seen, page[0].UserID+"="+page[0].Secret)
			after = page[0].UserID
		}
		if want := []string{alice.ID + "=sealed-4", bob.ID + "=sealed-b"}; !slices.Equal(seen, want) {
			t.Fatalf("paged secrets = %v, want %v", seen, want)
		}

		if err := s.ReplaceRecoveryCodes(ctx, alice.ID, []string{"h1", "h2"}, now); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.UseRecoveryCode(ctx, bob.ID, "h1", now); ok {
			t.Fatal("another account's recovery code was accepted")
		}
		if ok, err := s.UseRecoveryCode(ctx, alice.ID, "h1", now); !ok || err != nil {
			t.Fatalf("UseRecoveryCode = %v, %v", ok, err)
		}
		if ok, _ := s.UseRecoveryCode(ctx, alice.ID, "h1", now); ok {
			t.Fatal("a recovery code was accepted twice")
		}
		if n, _ := s.CountRecoveryCodes(ctx, alice.ID); n != 1 {
			t.Fatalf("CountRecoveryCodes = %d, want 1", n)
		}
		if err := s.ReplaceRecoveryCodes(ctx, alice.ID, []string{"h3"}, now); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.UseRecoveryCode(ctx, alice.ID, "h2", now); ok {
			t.Fatal("a code of the replaced set still works")
		}

		ch := auth.MFAChallenge{Hash: "c1", UserID: alice.ID, PasswordFP: "fp", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		if err := s.CreateMFAChallenge(ctx, ch); err != nil {
			t.Fatal(err)
		}
		gotCh, err := s.MFAChallenge(ctx, "c1")
		if err != nil || gotCh.UserID != alice.ID || gotCh.PasswordFP != "fp" || !gotCh.ExpiresAt.Equal(ch.ExpiresAt) || gotCh.UsedAt != nil {
			t.Fatalf("MFAChallenge = %+v, %v", gotCh, err)
		}
		if ok, _ := s.ConsumeMFAChallenge(ctx, "c1", now.Add(5*time.Minute)); ok {
			t.Fatal("an expired challenge was consumed")
		}
		if ok, err := s.ConsumeMFAChallenge(ctx, "c1", now.Add(time.Minute)); !ok || err != nil {
			t.Fatalf("ConsumeMFAChallenge = %v, %v", ok, err)
		}
		if ok, _ := s.ConsumeMFAChallenge(ctx, "c1", now.Add(time.Minute)); ok {
			t.Fatal("a challenge was consumed twice")
		}
		if err := s.DeleteSpentMFAChallenges(ctx, alice.ID, now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MFAChallenge(ctx, "c1"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("spent challenge still there: %v", err)
		}

		// Deleting the account removes everything it had.
		if err := st.Users.Delete(ctx, alice.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TOTP(ctx, alice.ID); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("TOTP after account deletion: %v", err)
		}
		if _, err := s.TOTP(ctx, "not-a-uuid"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("TOTP(malformed id): %v", err)
		}
	})
}

func TestAccessTokenStoreContract(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ctx := context.Background()
		st := store.New(db)
		s := st.AccessTokens
		alice := mkUser(t, st.Users, "alice@example.com", "alice")
		now := time.Now().UTC().Truncate(time.Second)

		tok, err := s.Create(ctx, pat.Token{
			ID: newID(t), UserID: alice.ID, Name: "ci", Scopes: []string{"files:read", "profile:read"},
			CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		}, "hash-1")
		if err != nil || tok.Name != "ci" || !slices.Equal(tok.Scopes, []string{"files:read", "profile:read"}) || tok.LastUsedAt != nil {
			t.Fatalf("Create = %+v, %v", tok, err)
		}
		if _, err := s.Create(ctx, pat.Token{ID: newID(t), UserID: alice.ID, Name: "dup", Scopes: []string{"files:read"},
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, "hash-1"); err == nil {
			t.Fatal("two tokens share a hash")
		}
		st1, err := s.State(ctx, "hash-1")
		if err != nil || st1.ID != tok.ID || st1.UserID != alice.ID || !st1.IsActive || st1.Role != "user" || !st1.ExpiresAt.Equal(tok.ExpiresAt) {
			t.Fatalf("State = %+v, %v", st1, err)
		}
		if _, err := s.State(ctx, "unknown"); !errors.Is(err, pat.ErrNotFound) {
			t.Fatalf("State(unknown) = %v", err)
		}

		if err := s.Touch(ctx, tok.ID, now, now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.Touch(ctx, tok.ID, now.Add(30*time.Second), now.Add(-30*time.Second)); err != nil {
			t.Fatal(err)
		}
		if st1, _ = s.State(ctx, "hash-1"); st1.LastUsedAt == nil || !st1.LastUsedAt.Equal(now) {
			t.Fatalf("last used = %v, want %v (the second touch came within the interval)", st1.LastUsedAt, now)
		}
		if n, _ := s.CountLive(ctx, alice.ID, now); n != 1 {
			t.Fatalf("CountLive = %d", n)
		}
		if n, _ := s.CountLive(ctx, alice.ID, now.Add(time.Hour)); n != 0 {
			t.Fatalf("CountLive after expiry = %d", n)
		}

		other := mkUser(t, st.Users, "bob@example.com", "bob")
		if ok, _ := s.Revoke(ctx, other.ID, tok.ID, "revoked_by_user", now); ok {
			t.Fatal("another account revoked the token")
		}
		if ok, _ := s.Revoke(ctx, alice.ID, "not-a-uuid", "revoked_by_user", now); ok {
			t.Fatal("a malformed id revoked something")
		}
		if ok, err := s.Revoke(ctx, alice.ID, tok.ID, "revoked_by_user", now); !ok || err != nil {
			t.Fatalf("Revoke = %v, %v", ok, err)
		}
		if list, _ := s.List(ctx, alice.ID, now); len(list) != 0 {
			t.Fatalf("List after revoke = %+v", list)
		}
		if st1, _ = s.State(ctx, "hash-1"); st1.RevokedAt == nil {
			t.Fatal("State does not show the revocation")
		}

		for _, h := range []string{"hash-2", "hash-3"} {
			if _, err := s.Create(ctx, pat.Token{ID: newID(t), UserID: alice.ID, Name: h, Scopes: []string{"files:read"},
				CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, h); err != nil {
				t.Fatal(err)
			}
		}
		if list, _ := s.List(ctx, alice.ID, now); len(list) != 2 || list[0].Name != "hash-3" {
			t.Fatalf("List = %+v, want newest first", list)
		}
		ids, err := s.RevokeAll(ctx, alice.ID, "password_changed", now)
		if err != nil || len(ids) != 2 {
			t.Fatalf("RevokeAll = %v, %v", ids, err)
		}
	})
}
