package main

import (
	"context"
	"fmt"
)

const auditUsage = `usage: api audit verify
  Checks the hash chain of the audit log. Exit status 1 and the first bad event when it is broken.
`

// cmdAudit runs `api audit ...`.
func cmdAudit(ctx context.Context, env *cliEnv, args []string) error {
	args, err := subcommand(env, "audit", "verify", auditUsage, args)
	if err != nil {
		return err
	}
	if _, err := parseArgs(env, "audit verify", auditUsage, args, 0, nil); err != nil {
		return err
	}
	a, err := env.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	n, broken, err := a.Audit.Verify(ctx)
	if err != nil {
		return fmt.Errorf("verify audit chain: %w", err)
	}
	if broken != nil {
		id := broken.ID
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(env.Stdout, "audit chain BROKEN after %d intact events\nfirst bad event: seq=%d id=%s reason=%s\n", n, broken.Seq, id, broken.Reason)
		return exitError{code: 1, msg: "audit chain broken"}
	}
	fmt.Fprintf(env.Stdout, "audit chain intact: %d events\n", n)
	return nil
}
