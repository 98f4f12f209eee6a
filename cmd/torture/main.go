// Command torture proves the service under faults: it builds the real api
// binary once, runs it over loopback against SQLite and PostgreSQL, injects
// hostile input, crashes, database and Redis outages and greedy clients, and
// checks the invariants that must hold through each. It prints one table and
// exits non-zero when any invariant fails.
//
//	go run ./cmd/torture                 full run (go tool task torture)
//	go run ./cmd/torture -short          the CI version: same assertions, fewer requests
//	go run ./cmd/torture -suite crash -engine postgres
//
// PostgreSQL suites use a fresh schema in TORTURE_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/dev_torture, or TEST_DATABASE_URL when
// set); the outage suites start private PostgreSQL and Redis servers of their
// own and never touch the machine's. docs/torture.md describes every suite.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"secureapi/internal/platform/token"
)

// result is one row of the table.
type result struct {
	suite, engine string
	requests      int64
	faults        int64
	fiveXX        int64
	lostWrites    int64         // -1: not applicable
	recovery      time.Duration // -1: not applicable
	failures      []string
	notes         []string
	skipped       string
	took          time.Duration
}

func (r *result) failf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *result) notef(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *result) ok() bool { return len(r.failures) == 0 }

// run is what every suite shares: the binary, the settings, a scratch
// directory and the PostgreSQL to make schemas in.
type run struct {
	bin     string
	root    string
	tmp     string
	short   bool
	pgBase  string
	signing string
	verbose bool
	rng     *rand.Rand
	log     io.Writer
}

// suite is one kind of torture, run once per engine it supports.
type suite struct {
	name    string
	engines []string
	run     func(ctx context.Context, rn *run, engine string, res *result) error
}

var suites = []suite{
	{"hostile", []string{"sqlite", "postgres"}, runHostile},
	{"crash", []string{"sqlite", "postgres"}, runCrash},
	{"storm", []string{"sqlite"}, runStorm},
	{"db-outage", []string{"postgres"}, runOutage},
	{"redis-outage", []string{"postgres"}, runRedisOutage},
	{"slow-clients", []string{"sqlite", "postgres"}, runSlow},
}

func main() {
	code := mainErr()
	os.Exit(code)
}

func mainErr() int {
	var (
		short   = flag.Bool("short", false, "the CI version: same invariants, fewer requests and shorter durations")
		only    = flag.String("suite", "", "run only these suites (comma-separated): "+suiteNames())
		engine  = flag.String("engine", "", "run only on this engine: sqlite or postgres")
		bin     = flag.String("bin", "", "use this api binary instead of building ./cmd/api")
		dbURL   = flag.String("database-url", defaultDatabaseURL(), "PostgreSQL database in which suites create (and drop) their schemas")
		keep    = flag.Bool("keep", false, "keep the scratch directory (logs, data) after the run")
		verbose = flag.Bool("v", false, "print progress")
		seed    = flag.Uint64("seed", 0, "random seed (0: from the clock); printed so a run can be repeated")
	)
	flag.Parse()
	if *engine != "" && *engine != "sqlite" && *engine != "postgres" {
		fmt.Fprintln(os.Stderr, "-engine must be sqlite or postgres")
		return 2
	}
	var want []string
	if *only != "" {
		for _, n := range strings.Split(*only, ",") {
			n = strings.TrimSpace(n)
			if !slices.ContainsFunc(suites, func(s suite) bool { return s.name == n }) {
				fmt.Fprintf(os.Stderr, "unknown suite %q (have %s)\n", n, suiteNames())
				return 2
			}
			want = append(want, n)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	limit := 40 * time.Minute
	if *short {
		limit = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	// Whatever happens, nothing this program started outlives it.
	defer killAll()
	defer func() {
		if p := recover(); p != nil {
			killAll()
			panic(p)
		}
	}()

	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	logw := io.Discard
	if *verbose {
		logw = os.Stderr
	}
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	tmp, err := os.MkdirTemp("", "torture-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "scratch directory (kept):", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	signing, _, err := token.GenerateKey()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rn := &run{root: root, tmp: tmp, short: *short, pgBase: *dbURL, signing: signing, verbose: *verbose,
		rng: rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15)), log: logw}

	start := time.Now()
	rn.bin = *bin
	if rn.bin == "" {
		fmt.Fprintln(logw, "building ./cmd/api ...")
		if rn.bin, err = buildBinary(ctx, root, tmp); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}

	var results []*result
	for _, s := range suites {
		if len(want) > 0 && !slices.Contains(want, s.name) {
			continue
		}
		for _, e := range s.engines {
			if *engine != "" && e != *engine {
				continue
			}
			res := &result{suite: s.name, engine: e, lostWrites: -1, recovery: -1}
			results = append(results, res)
			if ctx.Err() != nil {
				res.failf("not run: %v", ctx.Err())
				continue
			}
			fmt.Fprintf(logw, "== %s on %s\n", s.name, e)
			t0 := time.Now()
			if err := runSuite(ctx, rn, s, e, res); err != nil {
				res.failf("%v", err)
			}
			res.took = time.Since(t0)
			fmt.Fprintf(logw, "   %s on %s: %d failure(s) in %s\n", s.name, e, len(res.failures), res.took.Round(time.Second))
			killAll() // a suite that failed half-way may have left something running
		}
	}
	if len(results) == 0 {
		fmt.Fprintf(os.Stderr, "nothing to run: no suite of %q runs on %q\n", *only, *engine)
		return 2
	}
	mode := "full"
	if *short {
		mode = "short"
	}
	printTable(os.Stdout, results, fmt.Sprintf("%s run, seed %d, %d CPU(s), %s", mode, *seed, numCPU(), time.Since(start).Round(time.Second)))
	for _, r := range results {
		if !r.ok() {
			return 1
		}
	}
	return 0
}

// runSuite gives each suite its own scratch directory.
func runSuite(ctx context.Context, rn *run, s suite, engine string, res *result) error {
	dir, err := os.MkdirTemp(rn.tmp, s.name+"-"+engine+"-")
	if err != nil {
		return err
	}
	sub := *rn
	sub.tmp = dir
	return s.run(ctx, &sub, engine, res)
}

func suiteNames() string {
	var n []string
	for _, s := range suites {
		n = append(n, s.name)
	}
	return strings.Join(n, ", ")
}

func defaultDatabaseURL() string {
	for _, v := range []string{"TORTURE_DATABASE_URL", "TEST_DATABASE_URL"} {
		if u := os.Getenv(v); u != "" {
			return u
		}
	}
	return "postgres://postgres@127.0.0.1:5432/dev_torture?sslmode=disable"
}

func printTable(w io.Writer, results []*result, title string) {
	fmt.Fprintf(w, "\ntorture: %s\n\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SUITE\tENGINE\tREQUESTS\tFAULTS INJECTED\t5XX\tLOST WRITES\tRECOVERY\tRESULT\tTIME")
	for _, r := range results {
		lost, rec := "-", "-"
		if r.lostWrites >= 0 {
			lost = fmt.Sprint(r.lostWrites)
		}
		if r.recovery >= 0 {
			rec = r.recovery.Round(time.Millisecond).String()
		}
		verdict := "PASS"
		switch {
		case r.skipped != "":
			verdict = "SKIP"
		case !r.ok():
			verdict = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", r.suite, r.engine, r.requests, r.faults, r.fiveXX,
			lost, rec, verdict, r.took.Round(time.Second))
	}
	tw.Flush()
	for _, r := range results {
		if len(r.notes) == 0 && len(r.failures) == 0 && r.skipped == "" {
			continue
		}
		fmt.Fprintf(w, "\n%s/%s:\n", r.suite, r.engine)
		if r.skipped != "" {
			fmt.Fprintf(w, "  skipped: %s\n", r.skipped)
		}
		for _, n := range r.notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
		for _, f := range r.failures {
			fmt.Fprintf(w, "  FAIL %s\n", indent(f))
		}
	}
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n       ") }
