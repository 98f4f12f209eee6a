package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"

	"secureapi/internal/app"
	"secureapi/internal/platform/config"
	"secureapi/internal/testutil/testdb"
	"secureapi/internal/user"
)

// cliRig is a command-line environment over one database that outlives
// each command, as a real deployment's does.
type cliRig struct {
	vars   map[string]string
	stdout bytes.Buffer
	stderr bytes.Buffer
}

func newCLIRig(t *testing.T, engine string) *cliRig {
	t.Helper()
	vars := map[string]string{
		"APP_ENV": "development", "DATA_DIR": t.TempDir(), "METRICS_ADDR": "",
		"ARGON2_MEMORY_KIB": "64", "ARGON2_ITERATIONS": "1",
	}
	if engine == "postgres" {
		vars["DATABASE_URL"] = testdb.PostgresURL(t)
	}
	return &cliRig{vars: vars}
}

// env returns a fresh cliEnv reading stdin; output accumulates in the rig.
func (r *cliRig) env(t *testing.T, stdin string) *cliEnv {
	r.stdout.Reset()
	r.stderr.Reset()
	return &cliEnv{
		Stdin: strings.NewReader(stdin), Stdout: &r.stdout, Stderr: &r.stderr,
		Open: func(ctx context.Context) (*app.App, error) { return r.open(t, ctx) },
	}
}

func (r *cliRig) open(t *testing.T, ctx context.Context) (*app.App, error) {
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := r.vars[k]; return v, ok }, "")
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{})
}

func exitCode(err error) int {
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return 1
	}
	return 0
}

func TestUsersCreateAdmin(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine, func(t *testing.T) {
			r := newCLIRig(t, engine)
			ctx := context.Background()
			args := []string{"create-admin", "--email", "Root@Example.com", "--username", "root"}

			if err := cmdUsers(ctx, r.env(t, "Correct-Horse-9\r\n"), args); err != nil {
				t.Fatalf("create-admin: %v (stderr %q)", err, r.stderr.String())
			}
			id := strings.TrimSpace(r.stdout.String())
			if _, err := uuid.Parse(id); err != nil {
				t.Fatalf("stdout %q is not the new id", r.stdout.String())
			}

			a, err := r.open(t, ctx)
			if err != nil {
				t.Fatal(err)
			}
			u, err := a.Stores.Users.ByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if u.Role != user.RoleAdmin || !u.IsActive || u.Email != "root@example.com" {
				t.Errorf("created %+v", u)
			}
			// The line break is not part of the password.
			if ok, _, _ := a.Hasher.Verify(ctx, "Correct-Horse-9", u.PasswordHash); !ok {
				t.Error("password does not verify")
			}
			a.Close()

			cases := []struct {
				name  string
				stdin string
				args  []string
				code  int
				msg   string
			}{
				{"password as a flag is refused", "Correct-Horse-9\n", append(args[:0:0], "create-admin", "--email", "a@example.com", "--username", "a_admin", "--password", "Correct-Horse-9"), 2, "usage"},
				{"missing username", "Correct-Horse-9\n", []string{"create-admin", "--email", "a@example.com"}, 2, "usage"},
				{"unknown subcommand", "", []string{"drop-all"}, 2, "usage"},
				{"empty stdin", "", []string{"create-admin", "--email", "a@example.com", "--username", "a_admin"}, 1, "no password"},
				{"weak password", "weakpass\n", []string{"create-admin", "--email", "a@example.com", "--username", "a_admin"}, 1, "password: password must contain"},
				{"taken email", "Correct-Horse-9\n", []string{"create-admin", "--email", "root@example.com", "--username", "other"}, 1, "already registered"},
				{"bad username", "Correct-Horse-9\n", []string{"create-admin", "--email", "a@example.com", "--username", "a b"}, 1, "username:"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					err := cmdUsers(ctx, r.env(t, c.stdin), c.args)
					if got := exitCode(err); got != c.code {
						t.Fatalf("exit code %d, want %d (err %v)", got, c.code, err)
					}
					if !strings.Contains(err.Error(), c.msg) {
						t.Errorf("err %q does not mention %q", err, c.msg)
					}
					if r.stdout.Len() != 0 {
						t.Errorf("stdout = %q", r.stdout.String())
					}
				})
			}
		})
	}
}

func TestAuditVerify(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(engine, func(t *testing.T) {
			r := newCLIRig(t, engine)
			ctx := context.Background()

			if err := cmdAudit(ctx, r.env(t, ""), []string{"verify"}); err != nil {
				t.Fatalf("empty log: %v", err)
			}
			if got := r.stdout.String(); got != "audit chain intact: 0 events\n" {
				t.Errorf("empty log: %q", got)
			}
			for _, name := range []string{"one", "two", "three"} {
				err := cmdUsers(ctx, r.env(t, "Correct-Horse-9\n"), []string{"create-admin", "--email", name + "@example.com", "--username", name})
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := cmdAudit(ctx, r.env(t, ""), []string{"verify"}); err != nil {
				t.Fatalf("intact log: %v", err)
			}
			if got := r.stdout.String(); got != "audit chain intact: 3 events\n" {
				t.Errorf("intact log: %q", got)
			}

			// An attacker with database access rewrites the second event.
			a, err := r.open(t, ctx)
			if err != nil {
				t.Fatal(err)
			}
			drop := "DROP TRIGGER audit_events_no_update"
			if engine == "postgres" {
				drop += " ON audit_events"
			}
			if _, err := a.DB.SQL().ExecContext(ctx, drop); err != nil {
				t.Fatal(err)
			}
			var id string
			if err := a.DB.SQL().QueryRowContext(ctx, "SELECT id FROM audit_events WHERE seq = 2").Scan(&id); err != nil {
				t.Fatal(err)
			}
			if _, err := a.DB.SQL().ExecContext(ctx, "UPDATE audit_events SET details = '{\"via\":\"web\"}' WHERE seq = 2"); err != nil {
				t.Fatal(err)
			}
			a.Close()

			err = cmdAudit(ctx, r.env(t, ""), []string{"verify"})
			if exitCode(err) != 1 {
				t.Fatalf("tampered log: exit code %d (err %v)", exitCode(err), err)
			}
			out := r.stdout.String()
			for _, want := range []string{"seq=2", "id=" + id, "does not match its hash", "after 1 intact events"} {
				if !strings.Contains(out, want) {
					t.Errorf("report %q lacks %q", out, want)
				}
			}
			if strings.Contains(out, "intact: ") {
				t.Errorf("tampered log reported intact: %q", out)
			}

			if code := exitCode(cmdAudit(ctx, r.env(t, ""), []string{"check"})); code != 2 {
				t.Errorf("unknown subcommand: exit code %d", code)
			}
		})
	}
}
