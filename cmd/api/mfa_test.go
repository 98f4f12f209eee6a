package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"secureapi/internal/app"
	"secureapi/internal/auth"
	"secureapi/internal/platform/config"
	"secureapi/internal/platform/token"
	"secureapi/internal/platform/totp"
	"secureapi/internal/testutil/testdb"
)

func TestMFACodePrintsTheCurrentCode(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	before, _ := totp.Code(secret, time.Now())
	code, out, errOut := runCLI(t, []string{"DATA_DIR=" + t.TempDir()}, "mfa", "code", "--secret", strings.ToLower(secret))
	after, _ := totp.Code(secret, time.Now())
	if code != 0 || (out != before+"\n" && out != after+"\n") {
		t.Fatalf("status %d, %q %q; want %q", code, out, errOut, before)
	}
}

func fieldKey(id string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return id + ":" + base64.StdEncoding.EncodeToString(b)
}

// enableMFA creates an admin with a confirmed TOTP factor through the
// services and returns its id and secret.
func enableMFA(t *testing.T, ctx context.Context, a *app.App, name string) (string, string) {
	t.Helper()
	u, err := a.Auth.CreateAdmin(ctx, name+"@example.com", name, "Correct-Horse-9")
	if err != nil {
		t.Fatal(err)
	}
	p := auth.Principal{UserID: u.ID, Role: "admin"}
	en, err := a.Auth.EnrolTOTP(ctx, p, "Correct-Horse-9")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.Code(en.Secret, time.Now())
	if _, err := a.Auth.ConfirmTOTP(ctx, p, code); err != nil {
		t.Fatal(err)
	}
	return u.ID, en.Secret
}

func sealedSeed(t *testing.T, r *cliRig, userID string) string {
	t.Helper()
	a, err := r.open(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	row, err := a.Stores.MFA.TOTP(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return row.Secret
}

// Rotating FIELD_ENCRYPTION_KEYS: prepend a key, re-encrypt every seed with
// `api keys rotate-field`, drop the old key, and logins keep working. A
// seed whose key is gone is reported, with exit status 1.
func TestKeysRotateField(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			r := newCLIRig(t, engine)
			k1, k2 := fieldKey("k1"), fieldKey("k2")
			r.vars["FIELD_ENCRYPTION_KEYS"] = k1
			a, err := r.open(t, ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids, secrets []string
			for _, name := range []string{"ann", "ben", "cat"} {
				id, secret := enableMFA(t, ctx, a, name)
				ids, secrets = append(ids, id), append(secrets, secret)
			}
			a.Close()
			if s := sealedSeed(t, r, ids[0]); !strings.HasPrefix(s, "v1.k1.") {
				t.Fatalf("seed sealed as %.8q, want key k1", s)
			}

			r.vars["FIELD_ENCRYPTION_KEYS"] = k2 + "," + k1
			if err := cmdKeys(ctx, r.env(t, ""), []string{"rotate-field", "--batch", "2"}); err != nil {
				t.Fatalf("rotate-field: %v (%s)", err, r.stdout.String())
			}
			if got := r.stdout.String(); got != "TOTP seeds: 3 checked, 3 re-encrypted with key \"k2\"\n" {
				t.Fatalf("report %q", got)
			}
			for _, id := range ids {
				if s := sealedSeed(t, r, id); !strings.HasPrefix(s, "v1.k2.") {
					t.Fatalf("seed of %s sealed as %.8q after rotation", id, s)
				}
			}
			if err := cmdKeys(ctx, r.env(t, ""), []string{"rotate-field"}); err != nil || !strings.Contains(r.stdout.String(), "3 checked, 0 re-encrypted") {
				t.Fatalf("second run: %v %q", err, r.stdout.String())
			}

			// The old key is gone; the seeds open with the new one alone.
			r.vars["FIELD_ENCRYPTION_KEYS"] = k2
			a, err = r.open(t, ctx)
			if err != nil {
				t.Fatal(err)
			}
			toks, err := a.Auth.Login(ctx, "ann@example.com", "Correct-Horse-9")
			if err != nil || toks.MFAToken == "" {
				t.Fatalf("password step: %+v %v", toks, err)
			}
			// A step later than the confirming code, which is spent.
			code, _ := totp.Code(secrets[0], time.Now().Add(totp.Period))
			if toks, err = a.Auth.VerifyMFA(ctx, toks.MFAToken, auth.SecondFactor{Code: code}); err != nil || toks.AccessToken == "" {
				t.Fatalf("second step after rotation: %v", err)
			}
			a.Close()

			// Lazy rotation: a seed is re-encrypted when it is used.
			k3 := fieldKey("k3")
			r.vars["FIELD_ENCRYPTION_KEYS"] = k3 + "," + k2
			a, err = r.open(t, ctx)
			if err != nil {
				t.Fatal(err)
			}
			toks, _ = a.Auth.Login(ctx, "ben@example.com", "Correct-Horse-9")
			code, _ = totp.Code(secrets[1], time.Now().Add(totp.Period))
			if _, err := a.Auth.VerifyMFA(ctx, toks.MFAToken, auth.SecondFactor{Code: code}); err != nil {
				t.Fatalf("second step: %v", err)
			}
			a.Close()
			if s := sealedSeed(t, r, ids[1]); !strings.HasPrefix(s, "v1.k3.") {
				t.Fatalf("used seed still sealed as %.8q", s)
			}
			if s := sealedSeed(t, r, ids[2]); !strings.HasPrefix(s, "v1.k2.") {
				t.Fatalf("unused seed changed: %.8q", s)
			}

			// A ring without the key the seeds were sealed with.
			r.vars["FIELD_ENCRYPTION_KEYS"] = fieldKey("k9")
			err = cmdKeys(ctx, r.env(t, ""), []string{"rotate-field"})
			if exitCode(err) != 1 || !strings.Contains(r.stdout.String(), "3 seed(s) do not open") || !strings.Contains(r.stdout.String(), ids[2]) {
				t.Fatalf("lost key: %v %q", err, r.stdout.String())
			}
		})
	}
}

// Production without FIELD_ENCRYPTION_KEYS is refused, by `api config check`
// and at start-up, once an account has a second factor; before that it is
// not.
func TestProductionNeedsFieldKeysOnceMFAIsUsed(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			r := newCLIRig(t, engine)
			a, err := r.open(t, ctx)
			if err != nil {
				t.Fatal(err)
			}
			prod := func() *config.Config {
				cfg, err := config.Load(func(k string) (string, bool) { v, ok := r.vars[k]; return v, ok }, "")
				if err != nil {
					t.Fatal(err)
				}
				// The production settings that matter here; Load itself
				// would refuse a production configuration this small.
				cfg.AppEnv, cfg.FieldEncryptionKeys = "production", nil
				seed, _, _ := token.GenerateKey()
				raw, _ := base64.RawURLEncoding.DecodeString(seed)
				cfg.SigningKey = ed25519Key(raw)
				return cfg
			}
			if refusal, warning := fieldKeysInUse(ctx, prod()); refusal != "" || warning != "" {
				t.Fatalf("no second factor yet: %q %q", refusal, warning)
			}
			// Development kept its seeds under its generated key; production
			// would have configured the ring.
			enableMFA(t, ctx, a, "ann")
			a.Close()

			refusal, _ := fieldKeysInUse(ctx, prod())
			if !strings.Contains(refusal, "FIELD_ENCRYPTION_KEYS: is required: 1 account(s) use two-factor login") {
				t.Fatalf("refusal = %q", refusal)
			}
			_, err = app.New(ctx, prod(), a.Log, app.Options{})
			if err == nil || !strings.Contains(err.Error(), "FIELD_ENCRYPTION_KEYS is required: 1 account(s)") {
				t.Fatalf("start-up: %v", err)
			}
		})
	}
}

func ed25519Key(seed []byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(seed) }
