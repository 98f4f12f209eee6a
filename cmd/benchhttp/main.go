// Command benchhttp measures the service over loopback beside a floor (a bare
// Echo route, cmd/floor) in the same run, and prints one Markdown table per
// scenario: requests per second, p50 and p99 latency, server CPU per request,
// the server's peak resident memory, and the ratio to the floor's /healthz.
//
//	go tool task bench:http                      # everything, SQLite (and PostgreSQL with BENCH_DATABASE_URL)
//	go run ./cmd/benchhttp -duration 3s -reps 1   # a quick look
//
// Systems alternate within each repetition and the medians of the repetitions
// are reported, so a noisy neighbour hurts every system alike. Rate limits are
// off in the measured servers, as they are in the floor. Start-up and idle
// memory are measured before any load, so that what the load leaves behind
// (PostgreSQL checkpoints, servers returning memory) is not timed with them,
// and are printed last. Only loopback
// addresses are used; every server started is stopped at the end.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

type options struct {
	duration  time.Duration
	reps      int
	conns     int
	scenarios map[string]bool
	pgURL     string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := options{}
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each measured run")
	flag.IntVar(&o.reps, "reps", 3, "repetitions (medians are reported)")
	flag.IntVar(&o.conns, "conns", 32, "concurrent connections for the read scenarios")
	list := flag.String("scenarios", "health,me,login,upload,lists,cold,idle", "comma-separated scenarios")
	flag.StringVar(&o.pgURL, "pg", os.Getenv("BENCH_DATABASE_URL"), "PostgreSQL URL for the PostgreSQL scenarios (a database the benchmark may fill)")
	readme := flag.String("readme", "", "also write the tables into this file's performance block (README.md)")
	flag.Parse()
	o.scenarios = map[string]bool{}
	for _, s := range strings.Split(*list, ",") {
		o.scenarios[strings.TrimSpace(s)] = true
	}
	var captured func() string
	if *readme != "" {
		var err error
		if captured, err = teeStdout(); err != nil {
			fmt.Fprintln(os.Stderr, "benchhttp:", err)
			os.Exit(1)
		}
	}
	err := run(ctx, o)
	if err == nil && captured != nil {
		err = writeReadme(*readme, captured())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchhttp:", err)
		os.Exit(1)
	}
}

// server is one process under test.
type server struct {
	name string
	cmd  *exec.Cmd
	base string
	pid  int
}

func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs bin with env and waits until /healthz answers; it returns the
// time that took.
func start(ctx context.Context, name, bin string, env []string, logPath string) (*server, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, err
	}
	defer logf.Close()
	var args []string
	if name == "floor" {
		args = []string{"-addr", addr}
	} else {
		env = append(env, "LISTEN_ADDR="+addr)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	s := &server{name: name, cmd: cmd, base: "http://" + addr, pid: cmd.Process.Pid}
	client := &http.Client{Timeout: time.Second}
	for time.Since(began) < 30*time.Second {
		res, err := client.Get(s.base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, time.Since(began), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	s.stop()
	return nil, 0, fmt.Errorf("%s did not answer /healthz within 30 s (log: %s)", name, logPath)
}

// procStat is the CPU time (in clock ticks) a process has used.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// memKiB reads a field of /proc/PID/status (VmRSS, VmHWM) in KiB.
func memKiB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// resetPeak starts a new peak-RSS window (Linux: clear_refs 5 resets VmHWM).
func resetPeak(pid int) { _ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) }

// result is one measured run.
type result struct {
	rps, p50, p99, cpuPerReq float64 // req/s, ms, ms, ms
	peakMiB                  float64
	statuses                 map[string]int // status code -> count ("0": no answer)
	requests                 uint64
	refused                  []time.Duration // latencies of the 429 and 503 answers
}

const clockTicks = 100 // USER_HZ on Linux

// attack runs targeter against s with conns workers for d.
func attack(s *server, tr vegeta.Targeter, conns int, d time.Duration) result {
	resetPeak(s.pid)
	before := cpuTicks(s.pid)
	atk := vegeta.NewAttacker(vegeta.Workers(uint64(conns)), vegeta.MaxWorkers(uint64(conns)),
		vegeta.Connections(conns), vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second), vegeta.Redirects(vegeta.NoFollow))
	var m vegeta.Metrics
	var refused []time.Duration
	for res := range atk.Attack(tr, vegeta.Rate{Freq: 0}, d, s.name) {
		m.Add(res)
		if res.Code == http.StatusTooManyRequests || res.Code == http.StatusServiceUnavailable {
			refused = append(refused, res.Latency)
		}
	}
	m.Close()
	used := float64(cpuTicks(s.pid)-before) * 1000 / clockTicks
	r := result{
		rps: m.Throughput, p50: ms(m.Latencies.P50), p99: ms(m.Latencies.P99),
		peakMiB: float64(memKiB(s.pid, "VmHWM")) / 1024, requests: m.Requests,
	}
	if m.Requests > 0 {
		r.cpuPerReq = used / float64(m.Requests)
	}
	r.statuses = m.StatusCodes
	r.refused = refused
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// row collects one system's results across repetitions.
type row struct {
	system string
	runs   []result
}

func (r *row) med(f func(result) float64) float64 {
	xs := make([]float64, len(r.runs))
	for i, x := range r.runs {
		xs[i] = f(x)
	}
	return median(xs)
}

func printTable(w io.Writer, title string, rows []*row, floorRPS float64) {
	fmt.Fprintf(w, "\n### %s\n\n", title)
	fmt.Fprintln(w, "| system | req/s | p50 ms | p99 ms | server CPU ms/req | peak RSS MiB | statuses (all runs) | ratio to floor /healthz |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		rps := r.med(func(x result) float64 { return x.rps })
		ratio := "-"
		if floorRPS > 0 {
			ratio = fmt.Sprintf("%.2fx", rps/floorRPS)
		}
		total := map[string]int{}
		for _, x := range r.runs {
			for code, n := range x.statuses {
				total[code] += n
			}
		}
		var statuses []string
		for _, code := range slices.Sorted(maps.Keys(total)) {
			statuses = append(statuses, fmt.Sprintf("%s: %d", code, total[code]))
		}
		fmt.Fprintf(w, "| %s | %.0f | %.2f | %.2f | %.3f | %.1f | %s | %s |\n", r.system, rps,
			r.med(func(x result) float64 { return x.p50 }), r.med(func(x result) float64 { return x.p99 }),
			r.med(func(x result) float64 { return x.cpuPerReq }), r.med(func(x result) float64 { return x.peakMiB }),
			strings.Join(statuses, ", "), ratio)
	}
}

// printRefusals lists how fast the refused requests (429, 503) of each row
// were answered, over all its runs: a refusal is only cheap for the client
// if it comes at once.
func printRefusals(w io.Writer, rows []*row) {
	fmt.Fprintln(w, "\n| system | refusals | p50 ms | p99 ms | max ms |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for _, r := range rows {
		var all []time.Duration
		for _, x := range r.runs {
			all = append(all, x.refused...)
		}
		if len(all) == 0 {
			fmt.Fprintf(w, "| %s | 0 | - | - | - |\n", r.system)
			continue
		}
		slices.Sort(all)
		at := func(q float64) float64 { return ms(all[min(len(all)-1, int(q*float64(len(all))))]) }
		fmt.Fprintf(w, "| %s | %d | %.2f | %.2f | %.2f |\n", r.system, len(all), at(0.50), at(0.99), ms(all[len(all)-1]))
	}
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "benchhttp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bins := map[string]string{"api": filepath.Join(tmp, "api"), "floor": filepath.Join(tmp, "floor")}
	for name, out := range bins {
		// Built as releases are (Taskfile build, Dockerfile): static, no
		// symbol tables, so the figures are those of what ships.
		b := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./cmd/"+name)
		b.Env = append(os.Environ(), "CGO_ENABLED=0")
		b.Stderr = os.Stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("build %s: %w", name, err)
		}
	}
	logPath := filepath.Join(tmp, "servers.log")
	const password = "Bench-Pass-123"
	apiEnv := func(dataDir, dbURL string) []string {
		env := []string{"DATA_DIR=" + dataDir, "RATE_LIMIT_IP_PER_MINUTE=0", "RATE_LIMIT_USER_PER_MINUTE=0",
			"RATE_LIMIT_AUTH_PER_MINUTE=0", "COOKIE_SECURE=false", "MAX_UPLOAD_BYTES=2097152",
			"UPLOAD_QUOTA_BYTES=1099511627776", "LOG_LEVEL=warn"}
		if dbURL != "" {
			env = append(env, "DATABASE_URL="+dbURL)
		}
		return env
	}

	pg := ""
	if o.pgURL != "" {
		pg = "BENCH_DATABASE_URL=... "
	}
	fmt.Printf("# HTTP benchmark\n\nMachine: %d cores, %s, %s RAM, %s/%s, %s; run %s. Command: `%sgo tool task bench:http -- -duration %s -reps %d -conns %d`. "+
		"Medians of %d repetitions, systems alternating; servers built as released (static, stripped); rate limits off and LOG_LEVEL=warn in every server, as the floor has neither; loopback only.\n",
		runtime.NumCPU(), cpuModel(), memTotal(), runtime.GOOS, runtime.GOARCH, runtime.Version(), time.Now().UTC().Format("2006-01-02"),
		pg, o.duration, o.reps, o.conns, o.reps)

	floor, _, err := start(ctx, "floor", bins["floor"], nil, logPath)
	if err != nil {
		return err
	}
	defer floor.stop()

	type system struct {
		name  string
		srv   *server
		token string
		email string
		data  string
	}
	var systems []*system
	engines := [][2]string{{"SQLite", ""}}
	if o.pgURL != "" {
		engines = append(engines, [2]string{"PostgreSQL", o.pgURL})
	}
	for _, eng := range engines {
		data := filepath.Join(tmp, "data-"+eng[0])
		srv, _, err := start(ctx, "api "+eng[0], bins["api"], apiEnv(data, eng[1]), logPath)
		if err != nil {
			return err
		}
		defer srv.stop()
		email := fmt.Sprintf("bench-%d@example.com", time.Now().UnixNano())
		token, err := account(srv.base, email, password)
		if err != nil {
			return fmt.Errorf("%s: %w", eng[0], err)
		}
		systems = append(systems, &system{name: "api (" + eng[0] + ")", srv: srv, token: token, email: email, data: data})
	}
	// Start-up and idle memory are measured first, while the machine is
	// quiet: after the load scenarios, PostgreSQL's checkpoints and
	// autovacuum and the other servers returning memory would be measured
	// with them. The table is printed last, with the other tables above it.
	var cold, idle []float64
	if o.scenarios["cold"] || o.scenarios["idle"] {
		sy := systems[0]
		sy.srv.stop()
		for rep := 0; rep < max(o.reps, 5); rep++ {
			srv, took, err := start(ctx, "api SQLite", bins["api"], apiEnv(sy.data, ""), logPath)
			if err != nil {
				return err
			}
			cold = append(cold, ms(took))
			time.Sleep(2 * time.Second)
			idle = append(idle, float64(memKiB(srv.pid, "VmRSS"))/1024)
			srv.stop()
		}
		// The SQLite system serves the scenarios that follow again.
		srv, _, err := start(ctx, "api SQLite", bins["api"], apiEnv(sy.data, ""), logPath)
		if err != nil {
			return err
		}
		defer srv.stop()
		sy.srv = srv
	}

	get := func(base, path, token string) vegeta.Targeter {
		h := http.Header{}
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
		return vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: base + path, Header: h})
	}

	floorHealth := &row{system: "floor (bare Echo)"}
	if o.scenarios["health"] || o.scenarios["me"] {
		health := []*row{floorHealth}
		me := []*row{}
		for _, sy := range systems {
			health = append(health, &row{system: sy.name})
			me = append(me, &row{system: sy.name})
		}
		for rep := 0; rep < o.reps; rep++ {
			floorHealth.runs = append(floorHealth.runs, attack(floor, get(floor.base, "/healthz", ""), o.conns, o.duration))
			for i, sy := range systems {
				if o.scenarios["health"] {
					health[i+1].runs = append(health[i+1].runs, attack(sy.srv, get(sy.srv.base, "/healthz", ""), o.conns, o.duration))
				}
				if o.scenarios["me"] {
					me[i].runs = append(me[i].runs, attack(sy.srv, get(sy.srv.base, "/api/v1/users/me", sy.token), o.conns, o.duration))
				}
			}
		}
		fr := floorHealth.med(func(x result) float64 { return x.rps })
		if o.scenarios["health"] {
			printTable(os.Stdout, fmt.Sprintf("GET /healthz, %d connections", o.conns), health, fr)
		}
		if o.scenarios["me"] {
			printTable(os.Stdout, fmt.Sprintf("GET /api/v1/users/me with a bearer token, %d connections", o.conns), me, fr)
		}
	}
	if o.scenarios["login"] {
		for _, clients := range []int{4, 200} {
			rows := make([]*row, len(systems))
			targets := make([]vegeta.Targeter, len(systems))
			for i, sy := range systems {
				body, _ := json.Marshal(map[string]string{"email": sy.email, "password": password})
				targets[i] = vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: sy.srv.base + "/api/v1/auth/login", Body: body,
					Header: http.Header{"Content-Type": []string{"application/json"}}})
				rows[i] = &row{system: sy.name}
			}
			for rep := 0; rep < o.reps; rep++ {
				for i, sy := range systems {
					rows[i].runs = append(rows[i].runs, attack(sy.srv, targets[i], clients, o.duration))
				}
			}
			printTable(os.Stdout, fmt.Sprintf("POST /api/v1/auth/login (argon2id defaults), %d clients; a full hashing queue is refused at once with 429 and Retry-After", clients), rows, 0)
			printRefusals(os.Stdout, rows)
		}
	}
	if o.scenarios["upload"] {
		body, ctype := multipartBody(1 << 20)
		rows := make([]*row, len(systems))
		targets := make([]vegeta.Targeter, len(systems))
		for i, sy := range systems {
			targets[i] = vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: sy.srv.base + "/api/v1/files", Body: body,
				Header: http.Header{"Content-Type": []string{ctype}, "Authorization": []string{"Bearer " + sy.token}}})
			rows[i] = &row{system: sy.name}
		}
		// Systems alternate within each repetition here too: each upload
		// run leaves a few hundred MiB in the page cache, which changes
		// what the next run's writes cost.
		for rep := 0; rep < o.reps; rep++ {
			for i, sy := range systems {
				rows[i].runs = append(rows[i].runs, attack(sy.srv, targets[i], 4, o.duration))
			}
		}
		printTable(os.Stdout, "POST /api/v1/files, 1 MiB, 4 clients", rows, 0)
	}
	if o.scenarios["lists"] {
		if err := benchLists(ctx, o, bins["api"], logPath, tmp, apiEnv); err != nil {
			return err
		}
	}
	if o.scenarios["cold"] || o.scenarios["idle"] {
		fmt.Printf("\n### Start-up and idle memory (SQLite, existing data directory; measured before the load scenarios)\n\n| measure | median | runs |\n|---|---:|---|\n")
		if o.scenarios["cold"] {
			fmt.Printf("| start to first 200 from /healthz (ms) | %.1f | %s |\n", median(cold), fmtAll(cold))
		}
		if o.scenarios["idle"] {
			fmt.Printf("| idle RSS after start (MiB) | %.1f | %s |\n", median(idle), fmtAll(idle))
		}
	}
	return nil
}

func fmtAll(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strings.Join(parts, ", ")
}

// account registers an account and returns an access token for it.
func account(base, email, password string) (string, error) {
	post := func(path string, body any) (*http.Response, []byte, error) {
		b, _ := json.Marshal(body)
		res, err := http.Post(base+path, "application/json", bytes.NewReader(b))
		if err != nil {
			return nil, nil, err
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res, out, nil
	}
	user := strings.NewReplacer("@", "", ".", "").Replace(email)
	if len(user) > 32 {
		user = user[len(user)-32:]
	}
	if res, out, err := post("/api/v1/auth/register", map[string]string{"email": email, "username": user, "password": password}); err != nil || res.StatusCode >= 300 {
		return "", fmt.Errorf("register: %v %s", err, out)
	}
	res, out, err := post("/api/v1/auth/login", map[string]string{"email": email, "password": password})
	if err != nil || res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login: %v %s", err, out)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(out, &tok); err != nil || tok.AccessToken == "" {
		return "", errors.New("login: no access token")
	}
	return tok.AccessToken, nil
}

// multipartBody is an upload of size bytes of text (an allowed type).
func multipartBody(size int) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	part, _ := w.CreateFormFile("file", "bench.txt")
	line := []byte("the quick brown fox jumps over the lazy dog 0123456789\n")
	for n := 0; n < size; n += len(line) {
		part.Write(line[:min(len(line), size-n)])
	}
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// memTotal is the machine's memory as /proc/meminfo states it.
func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			if kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64); err == nil {
				return fmt.Sprintf("%.0f GiB", kb/(1<<20))
			}
		}
	}
	return "unknown"
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}
