package main

// The lists scenario: GET /api/v1/files and the admin GET /api/v1/users at
// 10k and at 1M rows. Keyset pagination on indexed columns should make a page
// cost the same whatever the table's size, so the figure that matters is the
// ratio of the p50 at 1M rows to the p50 at 10k rows (target: within 1.5x).
//
// Rows are bulk-inserted with SQL straight into the server's database after
// the server has applied its own migrations and been stopped: one
// INSERT ... SELECT over a generated series per table, a few seconds per
// million rows, where a million API calls would take an hour. Both data sets
// are served at once, by one server each, so the two sizes alternate in
// half-second slices of every run. The plans of both list queries, with the
// parameters the server binds, are printed beside the figures.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	_ "modernc.org/sqlite"
)

var listSizes = []int{10_000, 1_000_000}

const (
	listsPassword = "Bench-Lists-123"
	// listsPage is the page the server asks for by default: 20 items plus one
	// that tells whether there is a next page.
	listsPage = 21
	// firstCursor is what the stores bind for "no cursor" (sqlstore.maxID).
	firstCursor = "ffffffff-ffff-ffff-ffff-ffffffffffff"
)

// listsSet is one seeded data set and the server that serves it.
type listsSet struct {
	engine  string // "SQLite" or "PostgreSQL"
	size    int
	dataDir string
	dbURL   string // PostgreSQL: the benchmark database with search_path set to schema
	schema  string
	srv     *server

	ownerEmail, adminEmail string
	ownerID                string
	ownerToken, adminToken string
	filesDeep, usersDeep   string // cursors half-way down each list
	filesDepth, usersDepth int    // rows above those cursors
	seedTook               time.Duration
	plans                  []listsPlan
}

type listsPlan struct{ title, custom, generic string }

// listsTarget is one measured request.
type listsTarget struct {
	name string
	path func(s *listsSet) string
	auth func(s *listsSet) string
}

var listsTargets = []listsTarget{
	{"GET /api/v1/files (first page)", func(*listsSet) string { return "/api/v1/files" }, func(s *listsSet) string { return s.ownerToken }},
	{"GET /api/v1/files (deep page)", func(s *listsSet) string { return "/api/v1/files?cursor=" + s.filesDeep }, func(s *listsSet) string { return s.ownerToken }},
	{"GET /api/v1/users (admin, first page)", func(*listsSet) string { return "/api/v1/users" }, func(s *listsSet) string { return s.adminToken }},
	{"GET /api/v1/users (admin, deep page)", func(s *listsSet) string { return "/api/v1/users?cursor=" + s.usersDeep }, func(s *listsSet) string { return s.adminToken }},
}

// benchLists runs the lists scenario on SQLite and, with o.pgURL, on PostgreSQL.
func benchLists(ctx context.Context, o options, apiBin, logPath, tmp string, apiEnv func(dataDir, dbURL string) []string) error {
	engines := []string{"SQLite"}
	if o.pgURL != "" {
		engines = append(engines, "PostgreSQL")
	}
	for _, eng := range engines {
		if err := benchListsOn(ctx, eng, o, apiBin, logPath, tmp, apiEnv); err != nil {
			return err
		}
	}
	return nil
}

func benchListsOn(ctx context.Context, eng string, o options, apiBin, logPath, tmp string, apiEnv func(dataDir, dbURL string) []string) error {
	var sets []*listsSet
	defer func() {
		for _, s := range sets {
			if s.srv != nil {
				s.srv.stop()
			}
			if s.schema != "" {
				// A million rows are not left behind, even after a failure
				// or an interrupt.
				cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_ = dropSchema(cctx, o.pgURL, s.schema)
				cancel()
			}
		}
	}()
	for _, size := range listSizes {
		s := &listsSet{engine: eng, size: size}
		sets = append(sets, s)
		if err := s.prepare(ctx, o, apiBin, logPath, tmp, apiEnv); err != nil {
			return fmt.Errorf("lists %s %s: %w", eng, sizeLabel(size), err)
		}
	}
	return measureLists(o, sets)
}

func sizeLabel(n int) string {
	if n >= 1_000_000 && n%1_000_000 == 0 {
		return strconv.Itoa(n/1_000_000) + "M"
	}
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// prepare migrates through the server itself, creates the two real accounts
// (the file owner through the API, the admin through the CLI), seeds the rows
// with the server stopped, and serves the result.
func (s *listsSet) prepare(ctx context.Context, o options, apiBin, logPath, tmp string, apiEnv func(dataDir, dbURL string) []string) error {
	label := strings.ToLower(s.engine) + "-" + sizeLabel(s.size)
	s.dataDir = filepath.Join(tmp, "lists-"+label)
	if s.engine == "PostgreSQL" {
		s.schema = "benchhttp_lists_" + strings.ToLower(sizeLabel(s.size))
		if err := dropSchema(ctx, o.pgURL, s.schema); err != nil {
			return err
		}
		if err := execPG(ctx, o.pgURL, "CREATE SCHEMA "+s.schema); err != nil {
			return err
		}
		u, err := url.Parse(o.pgURL)
		if err != nil {
			return errors.New("BENCH_DATABASE_URL is not a URL")
		}
		q := u.Query()
		q.Set("search_path", s.schema)
		u.RawQuery = q.Encode()
		s.dbURL = u.String()
	}
	env := apiEnv(s.dataDir, s.dbURL)
	name := "api lists " + label
	srv, _, err := start(ctx, name, apiBin, env, logPath)
	if err != nil {
		return err
	}
	stamp := time.Now().UnixNano()
	s.ownerEmail = fmt.Sprintf("owner-%d@example.com", stamp)
	s.adminEmail = fmt.Sprintf("admin-%d@example.com", stamp)
	if _, err := account(srv.base, s.ownerEmail, listsPassword); err != nil {
		srv.stop()
		return fmt.Errorf("owner: %w", err)
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	admin := exec.CommandContext(actx, apiBin, "users", "create-admin", "--email", s.adminEmail, "--username", fmt.Sprintf("admin_%d", stamp))
	admin.Env = append(os.Environ(), env...)
	admin.Stdin = strings.NewReader(listsPassword + "\n")
	if out, err := admin.CombinedOutput(); err != nil {
		srv.stop()
		return fmt.Errorf("create-admin: %v: %s", err, out)
	}
	srv.stop()

	db, err := s.open(ctx)
	if err != nil {
		return err
	}
	defer db.close()
	if s.ownerID, err = db.one(ctx, "SELECT CAST(id AS TEXT) FROM users WHERE email = @email", map[string]any{"email": s.ownerEmail}); err != nil {
		return fmt.Errorf("owner id: %w", err)
	}
	began := time.Now()
	if err := db.seed(ctx, s.size, s.ownerID); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	s.seedTook = time.Since(began)

	// Deep pages start half-way down each list.
	s.filesDepth, s.usersDepth = s.size/4, s.size/2
	if s.filesDeep, err = db.one(ctx, "SELECT CAST(id AS TEXT) FROM files WHERE owner_id = @owner ORDER BY id DESC LIMIT 1 OFFSET @off",
		map[string]any{"owner": s.ownerID, "off": s.filesDepth - 1}); err != nil {
		return fmt.Errorf("files cursor: %w", err)
	}
	if s.usersDeep, err = db.one(ctx, "SELECT CAST(id AS TEXT) FROM users ORDER BY id DESC LIMIT 1 OFFSET @off",
		map[string]any{"off": s.usersDepth - 1}); err != nil {
		return fmt.Errorf("users cursor: %w", err)
	}
	if err := s.explain(ctx, db); err != nil {
		return fmt.Errorf("plans: %w", err)
	}
	db.close()

	if s.srv, _, err = start(ctx, name, apiBin, env, logPath); err != nil {
		return err
	}
	if s.ownerToken, err = login(s.srv.base, s.ownerEmail, listsPassword); err != nil {
		return fmt.Errorf("owner login: %w", err)
	}
	if s.adminToken, err = login(s.srv.base, s.adminEmail, listsPassword); err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	return nil
}

// explain records the plans of both list queries, first page and deep page,
// with the values the stores bind.
func (s *listsSet) explain(ctx context.Context, db *listsDB) error {
	files, err := queryText("files.sql", "ListFilesByOwner")
	if err != nil {
		return err
	}
	users, err := queryText("users.sql", "ListUsers")
	if err != nil {
		return err
	}
	for _, c := range []struct {
		title, query string
		args         map[string]any
	}{
		{"ListFilesByOwner, first page", files, map[string]any{"owner_id": s.ownerID, "cursor": firstCursor, "lim": listsPage}},
		{fmt.Sprintf("ListFilesByOwner, deep page (%d rows down)", s.filesDepth), files, map[string]any{"owner_id": s.ownerID, "cursor": s.filesDeep, "lim": listsPage}},
		{"ListUsers, first page", users, map[string]any{"cursor": firstCursor, "q": "", "role": "", "active_filter": 0, "lim": listsPage}},
		{fmt.Sprintf("ListUsers, deep page (%d rows down)", s.usersDepth), users, map[string]any{"cursor": s.usersDeep, "q": "", "role": "", "active_filter": 0, "lim": listsPage}},
	} {
		custom, generic, err := db.plan(ctx, c.query, c.args)
		if err != nil {
			return fmt.Errorf("%s: %w", c.title, err)
		}
		s.plans = append(s.plans, listsPlan{title: c.title, custom: custom, generic: generic})
	}
	return nil
}

// queryText is the body of a named query in db/queries, as sqlc reads it.
func queryText(file, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join("db", "queries", file))
	if err != nil {
		return "", fmt.Errorf("read the query (run from the repository root): %w", err)
	}
	_, rest, ok := strings.Cut(string(b), "-- name: "+name+" ")
	if !ok {
		return "", fmt.Errorf("no query %s in %s", name, file)
	}
	body, _, _ := strings.Cut(rest, "-- name: ")
	var lines []string
	for _, line := range strings.Split(body, "\n")[1:] {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
			lines = append(lines, line)
		}
	}
	return strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";"), nil
}

func measureLists(o options, sets []*listsSet) error {
	rows := make([][]*row, len(listsTargets)) // [target][set]
	targeter := func(s *listsSet, t listsTarget) vegeta.Targeter {
		h := http.Header{"Authorization": []string{"Bearer " + t.auth(s)}}
		return vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: s.srv.base + t.path(s), Header: h})
	}
	// A short unmeasured run per request first, so no repetition pays for a cold cache.
	warm := min(o.duration/4, time.Second)
	for i, t := range listsTargets {
		for _, s := range sets {
			attack(s.srv, targeter(s, t), o.conns, warm)
			rows[i] = append(rows[i], &row{system: fmt.Sprintf("%s, %s rows", t.name, sizeLabel(s.size))})
		}
	}
	// Each run is cut into short slices that alternate between the data sets,
	// so a neighbour's burst on a shared machine falls on both sizes alike
	// instead of on whichever happened to be measured at the time.
	nSlices := max(1, int(o.duration/listsSlice))
	for rep := 0; rep < o.reps; rep++ {
		for i, t := range listsTargets {
			runs := make([]*slicedRun, len(sets))
			for j := range sets {
				runs[j] = newSlicedRun(o.conns)
			}
			for range nSlices {
				for j, s := range sets {
					runs[j].attack(s.srv, targeter(s, t), o.duration/time.Duration(nSlices))
				}
			}
			for j := range sets {
				rows[i][j].runs = append(rows[i][j].runs, runs[j].result())
			}
		}
	}

	eng := sets[0].engine
	fmt.Printf("\n### Lists on %s: keyset pages of 20 at %s and %s rows, %d connections\n\n", eng, sizeLabel(sets[0].size), sizeLabel(sets[len(sets)-1].size), o.conns)
	fmt.Printf("Seeded %s, the owner holding the older half of the files; deep pages start half-way down each list.", seedSummary(sets))
	fmt.Print(" Every request must answer 200.\n\n")
	fmt.Println("| request | rows | req/s | p50 ms | p99 ms | statuses (all runs) |")
	fmt.Println("|---|---:|---:|---:|---:|---|")
	var bad []string
	for i, t := range listsTargets {
		for j, s := range sets {
			r := rows[i][j]
			fmt.Printf("| %s | %s | %.0f | %.2f | %.2f | %s |\n", t.name, sizeLabel(s.size),
				r.med(func(x result) float64 { return x.rps }), r.med(func(x result) float64 { return x.p50 }),
				r.med(func(x result) float64 { return x.p99 }), statusList(r))
			for _, x := range r.runs {
				for code := range x.statuses {
					if code != "200" {
						bad = append(bad, fmt.Sprintf("%s at %s: status %s", t.name, sizeLabel(s.size), code))
					}
				}
			}
		}
	}
	small, big := sets[0], sets[len(sets)-1]
	fmt.Printf("\n| request | p50 ms at %s | p50 ms at %s | p50 ratio %s/%s | req/s ratio %s/%s |\n", sizeLabel(small.size), sizeLabel(big.size),
		sizeLabel(big.size), sizeLabel(small.size), sizeLabel(big.size), sizeLabel(small.size))
	fmt.Println("|---|---:|---:|---:|---:|")
	for i, t := range listsTargets {
		a, b := rows[i][0], rows[i][len(sets)-1]
		p50a, p50b := a.med(func(x result) float64 { return x.p50 }), b.med(func(x result) float64 { return x.p50 })
		rpsa, rpsb := a.med(func(x result) float64 { return x.rps }), b.med(func(x result) float64 { return x.rps })
		fmt.Printf("| %s | %.2f | %.2f | %.2fx | %.2fx |\n", t.name, p50a, p50b, p50b/p50a, rpsb/rpsa)
	}
	for _, s := range sets {
		fmt.Printf("\n#### Plans on %s at %s rows (parameters as the stores bind them, page of 20 plus one)\n", s.engine, sizeLabel(s.size))
		for _, p := range s.plans {
			fmt.Printf("\n%s:\n\n```\n%s\n```\n", p.title, p.custom)
			if p.generic != "" {
				fmt.Printf("\nThe generic plan of the statement as the server prepares it (plan_cache_mode = force_generic_plan) differs:\n\n```\n%s\n```\n", p.generic)
			} else if s.engine == "PostgreSQL" {
				fmt.Print("\nThe generic plan of the statement as the server prepares it uses the same nodes and index.\n")
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("lists on %s: unexpected answers: %s", eng, strings.Join(bad, "; "))
	}
	return nil
}

// listsSlice is the length of one slice of a measured run.
const listsSlice = 500 * time.Millisecond

// slicedRun is one measured run made of several slices. A vegeta attacker
// serves one attack, so each slice gets a new one; they share a transport, so
// connections stay open from one slice to the next.
type slicedRun struct {
	conns   int
	tr      *http.Transport
	m       vegeta.Metrics
	elapsed time.Duration
}

func newSlicedRun(conns int) *slicedRun {
	return &slicedRun{conns: conns, tr: &http.Transport{
		DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: conns,
	}}
}

func (r *slicedRun) attack(s *server, tr vegeta.Targeter, d time.Duration) {
	atk := vegeta.NewAttacker(vegeta.Client(&http.Client{Timeout: 30 * time.Second, Transport: r.tr}),
		vegeta.Workers(uint64(r.conns)), vegeta.MaxWorkers(uint64(r.conns)), vegeta.Redirects(vegeta.NoFollow))
	began := time.Now()
	for res := range atk.Attack(tr, vegeta.Rate{Freq: 0}, d, s.name) {
		r.m.Add(res)
	}
	r.elapsed += time.Since(began)
}

// result: the metrics' own throughput would count the time spent on the
// other data set's slices, so req/s is successes over this run's slices.
func (r *slicedRun) result() result {
	r.tr.CloseIdleConnections()
	r.m.Close()
	out := result{p50: ms(r.m.Latencies.P50), p99: ms(r.m.Latencies.P99), statuses: r.m.StatusCodes, requests: r.m.Requests}
	if r.elapsed > 0 {
		out.rps = float64(r.m.Requests) * r.m.Success / r.elapsed.Seconds()
	}
	return out
}

func seedSummary(sets []*listsSet) string {
	var parts []string
	for _, s := range sets {
		parts = append(parts, fmt.Sprintf("%s users and %s files in %.1f s", sizeLabel(s.size), sizeLabel(s.size), s.seedTook.Seconds()))
	}
	return strings.Join(parts, "; ")
}

func statusList(r *row) string {
	total := map[string]int{}
	for _, x := range r.runs {
		for code, n := range x.statuses {
			total[code] += n
		}
	}
	var out []string
	for code, n := range total {
		out = append(out, fmt.Sprintf("%s: %d", code, n))
	}
	return strings.Join(out, ", ")
}

// login returns an access token for an existing account.
func login(base, email, password string) (string, error) {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(string(b)))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(out, &tok) != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("status %d: %s", res.StatusCode, out)
	}
	return tok.AccessToken, nil
}

// listsDB is a direct connection to one data set's database.
type listsDB struct {
	sqlite *sql.DB
	pg     *pgx.Conn
}

func (s *listsSet) open(ctx context.Context) (*listsDB, error) {
	if s.engine == "PostgreSQL" {
		c, err := pgx.Connect(ctx, s.dbURL)
		if err != nil {
			return nil, err
		}
		return &listsDB{pg: c}, nil
	}
	// The server's own settings (WAL, foreign keys, its time format), minus
	// durability: a seed that dies half-way is thrown away anyway.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.dataDir, "app.db")+
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(OFF)&_time_format=sqlite")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return &listsDB{sqlite: db}, nil
}

func (d *listsDB) close() {
	if d.sqlite != nil {
		_, _ = d.sqlite.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		_ = d.sqlite.Close()
		d.sqlite = nil
	}
	if d.pg != nil {
		_ = d.pg.Close(context.Background())
		d.pg = nil
	}
}

func (d *listsDB) exec(ctx context.Context, q string, args map[string]any) error {
	if d.pg != nil {
		_, err := d.pg.Exec(ctx, q, pgx.NamedArgs(args))
		return err
	}
	_, err := d.sqlite.ExecContext(ctx, q, named(args)...)
	return err
}

func (d *listsDB) one(ctx context.Context, q string, args map[string]any) (string, error) {
	var v string
	if d.pg != nil {
		return v, d.pg.QueryRow(ctx, q, pgx.NamedArgs(args)).Scan(&v)
	}
	return v, d.sqlite.QueryRowContext(ctx, q, named(args)...).Scan(&v)
}

func named(args map[string]any) []any {
	out := make([]any, 0, len(args))
	for k, v := range args {
		out = append(out, sql.Named(k, v))
	}
	return out
}

// seed adds n users and n files. Ids are UUIDv7 with timestamps before now,
// one millisecond apart, so the seeded rows are older than the real accounts
// and id order is insertion order, as it is for rows the server creates.
// The older half of the files belongs to the owner, the newer half to seeded
// users: a heavy uploader who has since stopped, below everyone else's newer
// files. That is the case where walking the primary key newest first and
// filtering by owner reads every newer file before the owner's first.
func (d *listsDB) seed(ctx context.Context, n int, ownerID string) error {
	hash, err := argon2id.CreateHash(rand.Text(), &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		return err
	}
	sum := make([]byte, 32)
	_, _ = rand.Read(sum)
	now := time.Now().UTC()
	args := map[string]any{
		"lo": 1, "hi": n, "base": now.Add(-400 * 24 * time.Hour).UnixMilli(), "now": now,
		"hash": hash, "owner": ownerID, "sha": hex.EncodeToString(sum),
	}
	// The same columns on both engines; only the series and the hex
	// formatting differ.
	uid := func(variant string) string {
		if d.pg != nil {
			return "CAST(lpad(to_hex((CAST(@base AS BIGINT) + i) >> 16), 8, '0') || '-' || lpad(to_hex((CAST(@base AS BIGINT) + i) & 65535), 4, '0') || '-7000-" +
				variant + "-' || lpad(to_hex(i), 12, '0') AS UUID)"
		}
		return "printf('%08x-%04x-7000-" + variant + "-%012x', (@base + i) >> 16, (@base + i) & 65535, i)"
	}
	series, now_ := "(WITH RECURSIVE s(i) AS (SELECT @lo UNION ALL SELECT i + 1 FROM s WHERE i < @hi) SELECT i FROM s) AS s", "@now"
	if d.pg != nil {
		series, now_ = "generate_series(CAST(@lo AS BIGINT), CAST(@hi AS BIGINT)) AS i", "CAST(@now AS TIMESTAMPTZ)"
	}
	stmts := []string{
		"INSERT INTO users (id, email, username, display_name, password_hash, role, is_active, created_at, updated_at) SELECT " +
			uid("8000") + ", 'seed' || i || '@example.com', 'seed_' || i, 'Seed User ' || i, @hash, 'user', TRUE, " + now_ + ", " + now_ + " FROM " + series,
		"INSERT INTO files (id, owner_id, filename, content_type, size, sha256, storage_key, created_at) SELECT " +
			uid("9000") + ", CASE WHEN i <= @hi / 2 THEN " + ownerRef(d) + " ELSE " + uid("8000") + " END, 'seed-' || i || '.txt', 'text/plain', 1024, @sha, 'seed-' || i, " + now_ + " FROM " + series,
	}
	for _, q := range stmts {
		if err := d.exec(ctx, q, args); err != nil {
			return err
		}
	}
	if d.pg != nil {
		// What autovacuum would do shortly after a load like this; done
		// now so that it does not happen in the middle of a measurement.
		_, err := d.pg.Exec(ctx, "VACUUM ANALYZE users, files")
		return err
	}
	return nil
}

func ownerRef(d *listsDB) string {
	if d.pg != nil {
		return "CAST(@owner AS UUID)"
	}
	return "@owner"
}

// plan returns the plan of q with args bound. On PostgreSQL the plan is
// EXPLAIN ANALYZE with the values in place (what the server gets from a
// custom plan) and, when it differs in shape, the generic plan of the
// statement prepared as the server prepares it.
func (d *listsDB) plan(ctx context.Context, q string, args map[string]any) (string, string, error) {
	if d.sqlite != nil {
		rows, err := d.sqlite.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, named(args)...)
		if err != nil {
			return "", "", err
		}
		defer rows.Close()
		depth := map[int]int{}
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				return "", "", err
			}
			depth[id] = depth[parent] + 1
			lines = append(lines, strings.Repeat("  ", depth[id]-1)+detail)
		}
		return strings.Join(lines, "\n"), "", rows.Err()
	}
	text := func(q string, args ...any) (string, error) {
		rows, err := d.pg.Query(ctx, q, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
		if err != nil {
			return "", err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		return strings.Join(lines, "\n"), err
	}
	custom, err := text("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF) "+q, pgx.NamedArgs(args))
	if err != nil {
		return "", "", err
	}
	customShape, err := text("EXPLAIN (COSTS OFF) "+q, pgx.NamedArgs(args))
	if err != nil {
		return "", "", err
	}
	positional, values, err := pgx.NamedArgs(args).RewriteQuery(ctx, d.pg, q, nil)
	if err != nil {
		return "", "", err
	}
	if _, err := d.pg.Exec(ctx, "PREPARE benchhttp_lists AS "+positional); err != nil {
		return "", "", err
	}
	defer d.pg.Exec(context.Background(), "DEALLOCATE benchhttp_lists")
	if _, err := d.pg.Exec(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		return "", "", err
	}
	defer d.pg.Exec(context.Background(), "RESET plan_cache_mode")
	params := make([]string, len(values))
	for i := range values {
		params[i] = "$" + strconv.Itoa(i+1)
	}
	generic, err := text("EXPLAIN (COSTS OFF) EXECUTE benchhttp_lists("+strings.Join(params, ", ")+")", values...)
	if err != nil {
		return "", "", err
	}
	if planNodes(generic) == planNodes(customShape) {
		generic = ""
	}
	return custom, generic, nil
}

// planNodes is a plan's nodes and the indexes they use, without the
// conditions, whose values differ between a custom and a generic plan.
func planNodes(plan string) string {
	var nodes []string
	for _, line := range strings.Split(plan, "\n") {
		if !strings.Contains(line, ":") {
			nodes = append(nodes, strings.TrimSpace(line))
		}
	}
	return strings.Join(nodes, "\n")
}

func execPG(ctx context.Context, dbURL, q string) error {
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, q)
	return err
}

func dropSchema(ctx context.Context, dbURL, schema string) error {
	return execPG(ctx, dbURL, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
}
