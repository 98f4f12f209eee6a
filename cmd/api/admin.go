package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"strings"

	"secureapi/internal/platform/config"
	"secureapi/internal/platform/token"
	"secureapi/internal/store"
)

const migrateUsage = `usage: api migrate up|down|status
  up      apply every pending migration
  down    roll back the latest migration
  status  list migrations and when each was applied
`

func cmdMigrate(ctx context.Context, env *cliEnv, args []string) error {
	rest, err := parseArgs(env, "migrate", migrateUsage, args, 1, nil)
	if err != nil {
		return err
	}
	switch rest[0] {
	case "up", "down", "status":
	default:
		return exitError{code: 2, msg: fmt.Sprintf("api migrate: unknown subcommand %q\n\n%s", rest[0], strings.TrimRight(migrateUsage, "\n"))}
	}
	cfg, err := env.config()
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseDriver(), cfg.DatabaseDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := store.Migrations(db)
	if err != nil {
		return err
	}
	switch rest[0] {
	case "up":
		res, err := p.Up(ctx)
		for _, r := range res {
			fmt.Fprintf(env.Stdout, "applied %s (%s)\n", r.Source.Path, r.Duration.Round(1000))
		}
		if err != nil {
			return err
		}
		if len(res) == 0 {
			fmt.Fprintln(env.Stdout, "already at the latest version")
		}
	case "down":
		r, err := p.Down(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "rolled back %s\n", r.Source.Path)
	case "status":
		st, err := p.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			at := "pending"
			if !s.AppliedAt.IsZero() {
				at = "applied " + s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
			}
			fmt.Fprintf(env.Stdout, "%-40s %s\n", s.Source.Path, at)
		}
	}
	return nil
}

const keysUsage = `usage: api keys generate [--type signing|field] [--id ID]
  Prints a new key for the operator's secret store.
`

func cmdKeys(env *cliEnv, args []string) error {
	args, err := subcommand(env, "keys", "generate", keysUsage, args)
	if err != nil {
		return err
	}
	var typ, id *string
	if _, err := parseArgs(env, "keys generate", keysUsage, args, 0, func(fs *flag.FlagSet) {
		typ = fs.String("type", "signing", "signing (Ed25519 JWT signing key) or field (AES-256-GCM field-encryption key)")
		id = fs.String("id", "", "key id for a field-encryption key (default: random)")
	}); err != nil {
		return err
	}
	switch *typ {
	case "signing":
		seed, pub, err := token.GenerateKey()
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "JWT_SIGNING_KEY=%s\n", seed)
		fmt.Fprintf(env.Stdout, "# public key; during rotation add it to JWT_VERIFICATION_KEYS so tokens it signed keep verifying:\n# %s\n", pub)
	case "field":
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		kid := *id
		if kid == "" {
			b := make([]byte, 4)
			rand.Read(b)
			kid = fmt.Sprintf("k%x", b)
		}
		fmt.Fprintf(env.Stdout, "FIELD_ENCRYPTION_KEYS=%s:%s\n", kid, base64.StdEncoding.EncodeToString(key))
		fmt.Fprintln(env.Stdout, "# prepend new keys to rotate: the first key encrypts, all keys decrypt")
	default:
		return exitError{code: 2, msg: "--type must be signing or field"}
	}
	return nil
}

const configUsage = `usage: api config check
  Prints the effective configuration with secrets masked, every warning, and
  what production would refuse. Exit status 1 when the configuration is refused.
`

func cmdConfig(env *cliEnv, args []string) error {
	args, err := subcommand(env, "config", "check", configUsage, args)
	if err != nil {
		return err
	}
	if _, err := parseArgs(env, "config check", configUsage, args, 0, nil); err != nil {
		return err
	}
	cfg, err := env.config()
	if err != nil {
		fmt.Fprintln(env.Stdout, "configuration refused:")
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(env.Stdout, "  "+line)
		}
		return exitError{code: 1}
	}
	fmt.Fprintln(env.Stdout, "effective configuration:")
	for _, l := range cfg.Masked() {
		fmt.Fprintln(env.Stdout, "  "+l)
	}
	refusals, warnings := config.Check(cfg)
	warnings = append(warnings, env.lookAlikes()...)
	for _, w := range warnings {
		fmt.Fprintf(env.Stdout, "warning: %s\n", w.String())
	}
	for _, r := range refusals {
		fmt.Fprintf(env.Stdout, "refused: %s\n", r.String())
	}
	if len(refusals) > 0 {
		return exitError{code: 1}
	}
	fmt.Fprintln(env.Stdout, "ok")
	return nil
}
