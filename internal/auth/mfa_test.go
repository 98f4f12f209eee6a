package auth_test

import (
	"bytes"
	"context"
	"testing"

	"secureapi/internal/auth"
	"secureapi/internal/platform/fieldcrypt"
	"secureapi/internal/platform/totp"
	"secureapi/internal/store"
	"secureapi/internal/testutil/testdb"
)

// The second step applies the gates of the first: an account that must
// verify its address again (or was deactivated) after the password step
// does not get in with the MFA token it already holds.
func TestVerifyMFAKeepsTheGatesOfThePasswordStep(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		ring, err := fieldcrypt.NewRing([]fieldcrypt.Key{{ID: "k1", Key: bytes.Repeat([]byte{7, 3, 9, 1}, 8)}})
		if err != nil {
			t.Fatal(err)
		}
		st := store.New(db)
		e := newEnv(t, db, func(d *auth.Deps) {
			d.MFA, d.Secrets = st.MFA, ring
			d.Config.RequireVerifiedEmail = true
		})
		ctx := ctx()
		id := e.register(t, "alice@example.com", "alice")
		u, err := st.Users.ByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		now := e.clock.Now()
		u.EmailVerifiedAt = &now
		if u, err = st.Users.Update(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		p := auth.Principal{UserID: id, Role: "user"}
		en, err := e.svc.EnrolTOTP(ctx, p, goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.Code(en.Secret, e.clock.Now())
		if _, err := e.svc.ConfirmTOTP(ctx, p, code); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(totp.Period)

		toks := e.login(t, "alice@example.com")
		if toks.MFAToken == "" || toks.AccessToken != "" {
			t.Fatalf("password step = %+v", toks)
		}
		u.EmailVerifiedAt = nil
		if _, err := st.Users.Update(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		code, _ = totp.Code(en.Secret, e.clock.Now())
		_, err = e.svc.VerifyMFA(ctx, toks.MFAToken, auth.SecondFactor{Code: code})
		wantIs(t, err, auth.ErrInvalidMFAToken)

		u.EmailVerifiedAt, u.IsActive = &now, false
		if _, err := st.Users.Update(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.VerifyMFA(ctx, toks.MFAToken, auth.SecondFactor{Code: code})
		wantIs(t, err, auth.ErrInvalidMFAToken)

		u.IsActive = true
		if _, err := st.Users.Update(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.VerifyMFA(ctx, toks.MFAToken, auth.SecondFactor{Code: code})
		if err != nil || got.AccessToken == "" || got.RefreshToken == "" {
			t.Fatalf("VerifyMFA = %+v, %v", got, err)
		}
	})
}
