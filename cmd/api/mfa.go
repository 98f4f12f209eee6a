package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"secureapi/internal/auth"
	"secureapi/internal/platform/config"
	"secureapi/internal/platform/totp"
	"secureapi/internal/store"
)

const mfaUsage = `usage: api mfa code --secret BASE32
  Prints the current TOTP code of a secret, as an authenticator app would show
  it: a stand-in for a phone while trying two-factor login in development.
  The secret ends up in the shell history; use it only with test accounts.
`

func cmdMFA(env *cliEnv, args []string) error {
	args, err := subcommand(env, "mfa", "code", mfaUsage, args)
	if err != nil {
		return err
	}
	var secret *string
	if _, err := parseArgs(env, "mfa code", mfaUsage, args, 0, func(fs *flag.FlagSet) {
		secret = fs.String("secret", "", "the base32 secret from POST /api/v1/users/me/mfa/totp")
	}); err != nil {
		return err
	}
	if *secret == "" {
		return exitError{code: 2, msg: "api mfa code: --secret is required\n\n" + strings.TrimRight(mfaUsage, "\n")}
	}
	code, err := totp.Code(*secret, time.Now())
	if err != nil {
		return exitError{code: 2, msg: "api mfa code: --secret is not a base32 TOTP secret"}
	}
	fmt.Fprintln(env.Stdout, code)
	return nil
}

const rotateFieldUsage = `usage: api keys rotate-field [--batch N]
  Re-encrypts every stored secret (TOTP seeds) that is not sealed with the
  first FIELD_ENCRYPTION_KEYS key, N rows at a time, beside live traffic.
  To rotate: prepend a new key to FIELD_ENCRYPTION_KEYS and restart, run this,
  then drop the old key. Secrets are also re-encrypted whenever they are used.
  Exit status 1 when a secret does not open with any key of the ring.
`

func cmdRotateField(ctx context.Context, env *cliEnv, args []string) error {
	var batch *int
	if _, err := parseArgs(env, "keys rotate-field", rotateFieldUsage, args, 0, func(fs *flag.FlagSet) {
		batch = fs.Int("batch", 100, "rows per batch (1..1000)")
	}); err != nil {
		return err
	}
	if *batch < 1 || *batch > 1000 {
		return exitError{code: 2, msg: "api keys rotate-field: --batch must be 1..1000"}
	}
	a, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := a.Auth.RotateMFASecrets(ctx, *batch)
	if errors.Is(err, auth.ErrMFAUnavailable) {
		return exitError{code: 1, msg: "api keys rotate-field: FIELD_ENCRYPTION_KEYS is not set; there is nothing to rotate to"}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "TOTP seeds: %d checked, %d re-encrypted with key %q\n", rep.Checked, rep.Resealed, a.Secrets.CurrentKeyID())
	if len(rep.Failed) > 0 {
		fmt.Fprintf(env.Stdout, "%d seed(s) do not open with any key of FIELD_ENCRYPTION_KEYS (accounts %s); keep the key they were sealed with in the ring, or reset their second factor\n",
			len(rep.Failed), strings.Join(rep.Failed, ", "))
		return exitError{code: 1}
	}
	return nil
}

// fieldKeysInUse is the refusal of a production configuration without
// FIELD_ENCRYPTION_KEYS whose database already holds TOTP seeds, which
// only that ring opens. It asks the database, so it is reported by
// `api config check` (and enforced at start-up); when the database cannot be
// asked the answer is a warning.
func fieldKeysInUse(ctx context.Context, cfg *config.Config) (refusal, warning string) {
	if !cfg.IsProduction() || len(cfg.FieldEncryptionKeys) > 0 {
		return "", ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	db, err := store.Open(ctx, cfg.DatabaseDriver(), cfg.DatabaseDSN())
	if err != nil {
		return "", "FIELD_ENCRYPTION_KEYS: could not ask the database whether accounts use two-factor login: " + err.Error()
	}
	defer db.Close()
	n, err := store.New(db).MFA.CountConfirmedTOTP(ctx)
	if err != nil {
		return "", "FIELD_ENCRYPTION_KEYS: could not ask the database whether accounts use two-factor login (are migrations applied?)"
	}
	if n == 0 {
		return "", ""
	}
	return fmt.Sprintf("FIELD_ENCRYPTION_KEYS: is required: %d account(s) use two-factor login and their TOTP seeds are encrypted with that key ring; set it to the keys they were sealed with (the service refuses to start without it)", n), ""
}
