package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for snapshots
	_ "modernc.org/sqlite"             // database/sql driver "sqlite" for snapshots
)

// pgSchema creates an empty schema in the database at base and returns a URL
// whose search_path points at it, and a function that drops it. Every suite
// run gets its own, so runs never see each other's rows.
func pgSchema(ctx context.Context, base, prefix string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("connect to %s: %w", redactURL(base), err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	schema := prefix + "_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(database URL)"
	}
	return u.Redacted()
}

// privatePG is a PostgreSQL server of this program's own, on a private port
// and data directory, that a suite may stop and start at will (the machine's
// server is shared and never touched).
type privatePG struct {
	bin, dir, port string
	uid, gid       uint32
	asOther        bool
	cmd            *exec.Cmd
	done           chan struct{}
}

// pgBinDir picks the newest /usr/lib/postgresql/*/bin unless PG_BIN is set.
func pgBinDir() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) < pgMajor(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "postgres")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (set PG_BIN)")
}

func pgMajor(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// newPrivatePG runs initdb in a fresh directory under dir. As root, the
// server runs as the postgres user (initdb refuses root).
func newPrivatePG(ctx context.Context, dir string) (*privatePG, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := strings.Cut(addr, ":")
	p := &privatePG{bin: bin, dir: filepath.Join(dir, "pgdata"), port: port}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user for a private server: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.uid, p.gid, p.asOther = uint32(uid), uint32(gid), true
		// The postgres user must reach its data directory.
		for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
			if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
				os.Chmod(d, st.Mode().Perm()|0o011)
			}
			if d == os.TempDir() {
				break
			}
		}
	}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return nil, err
	}
	if p.asOther {
		if err := os.Chown(p.dir, int(p.uid), int(p.gid)); err != nil {
			return nil, err
		}
	}
	ictx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ictx, filepath.Join(bin, "initdb"), "-D", p.dir, "-A", "trust", "-U", "postgres", "--no-sync")
	p.asUser(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return p, nil
}

func (p *privatePG) asUser(cmd *exec.Cmd) {
	cmd.Dir = p.dir
	if p.asOther {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: p.uid, Gid: p.gid}}
	}
}

func (p *privatePG) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%s/%s?sslmode=disable", p.port, db)
}

// start runs the server and waits until it accepts connections.
func (p *privatePG) start(ctx context.Context) error {
	cmd := exec.Command(filepath.Join(p.bin, "postgres"), "-D", p.dir, "-p", p.port, "-k", p.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100")
	p.asUser(cmd)
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(p.dir), "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	track(cmd)
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); untrack(cmd); close(done) }()
	p.cmd, p.done = cmd, done
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := pgx.Connect(cctx, p.url("postgres"))
		cancel()
		if err == nil {
			c.Close(ctx)
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("private postgres exited at start (see %s)", filepath.Join(filepath.Dir(p.dir), "postgres.log"))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("private postgres did not accept connections within 30 s")
}

// stop shuts the server down "fast" (SIGINT: open sessions are ended at once).
func (p *privatePG) stop() error {
	if p.cmd == nil {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd, p.done = nil, nil
	return nil
}

func (p *privatePG) createDB(ctx context.Context, name string) error {
	c, err := pgx.Connect(ctx, p.url("postgres"))
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, "CREATE DATABASE "+name)
	return err
}

// privateRedis is a Redis server of this program's own (no persistence).
type privateRedis struct {
	port string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func newPrivateRedis(dir string) (*privateRedis, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("redis-server not found: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := strings.Cut(addr, ":")
	return &privateRedis{port: port, dir: dir}, nil
}

func (r *privateRedis) url() string { return "redis://127.0.0.1:" + r.port + "/0" }

func (r *privateRedis) start(ctx context.Context) error {
	cmd := exec.Command("redis-server", "--port", r.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir)
	logf, err := os.OpenFile(filepath.Join(r.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	track(cmd)
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); untrack(cmd); close(done) }()
	r.cmd, r.done = cmd, done
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := (&netDialer).DialContext(ctx, "tcp", "127.0.0.1:"+r.port); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("private redis exited at start")
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("private redis not up within 10 s")
}

func (r *privateRedis) stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
	r.cmd, r.done = nil, nil
}

// tableSum is one table's row count and a hash of its content (rows in
// sorted order, so the physical order does not matter).
type tableSum struct {
	Rows int
	Hash string
}

// rowFilter leaves a row out of a snapshot when it returns true.
type rowFilter func(table string, row map[string]string) bool

// snapshot reads every table of the database read-only. engine "sqlite"
// takes the database file's path; "postgres" a URL (search_path included).
func snapshot(ctx context.Context, engine, dsn string, skip rowFilter) (map[string]tableSum, error) {
	var (
		db  *sql.DB
		err error
		q   string
	)
	switch engine {
	case "sqlite":
		db, err = sql.Open("sqlite", "file:"+dsn+"?mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(1)")
		q = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	case "postgres":
		db, err = sql.Open("pgx", dsn)
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	default:
		return nil, fmt.Errorf("unknown engine %q", engine)
	}
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	out := map[string]tableSum{}
	for _, t := range tables {
		sum, err := tableContent(ctx, db, t, skip)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", t, err)
		}
		out[t] = sum
	}
	return out, nil
}

func tableContent(ctx context.Context, db *sql.DB, table string, skip rowFilter) (tableSum, error) {
	rows, err := db.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
	if err != nil {
		return tableSum{}, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return tableSum{}, err
	}
	var lines []string
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return tableSum{}, err
		}
		m := make(map[string]string, len(cols))
		var b strings.Builder
		for i, c := range cols {
			v := formatValue(vals[i])
			m[c] = v
			fmt.Fprintf(&b, "%s=%q;", c, v)
		}
		if skip != nil && skip(table, m) {
			continue
		}
		lines = append(lines, b.String())
	}
	if err := rows.Err(); err != nil {
		return tableSum{}, err
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return tableSum{Rows: len(lines), Hash: hex.EncodeToString(h.Sum(nil))[:16]}, nil
}

func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case [16]byte:
		return hex.EncodeToString(x[:])
	default:
		return fmt.Sprint(x)
	}
}

// diffSnapshots names the tables whose count or content differ.
func diffSnapshots(before, after map[string]tableSum) []string {
	var out []string
	for t, b := range before {
		a, ok := after[t]
		switch {
		case !ok:
			out = append(out, t+" disappeared")
		case a != b:
			out = append(out, fmt.Sprintf("%s: %d rows -> %d rows, content %s -> %s", t, b.Rows, a.Rows, b.Hash, a.Hash))
		}
	}
	for t := range after {
		if _, ok := before[t]; !ok {
			out = append(out, t+" appeared")
		}
	}
	sort.Strings(out)
	return out
}

// query runs a read-only query against the instance's database and returns
// the first column of every row.
func queryStrings(ctx context.Context, engine, dsn, q string, args ...any) ([]string, error) {
	var db *sql.DB
	var err error
	if engine == "sqlite" {
		db, err = sql.Open("sqlite", "file:"+dsn+"?mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	} else {
		db, err = sql.Open("pgx", dsn)
	}
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, formatValue(v))
	}
	return out, rows.Err()
}
