package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Suite 6: slow and greedy clients. A few hundred connections hold the
// server the ways a cheap attacker can (Slowloris headers, a body dribbled
// byte by byte, connections that never send, oversized headers, downloads
// never read) while one ordinary client keeps working. Invariants:
//   - the ordinary client gets every answer (each within its timeout);
//   - the server closes the held connections by itself (its header, read
//     and write timeouts), none survives the attack window;
//   - oversized headers are refused (431), never served;
//   - afterwards the server's open file descriptors (/proc/PID/fd) and
//     goroutines (go_goroutines on the metrics listener) return to what they
//     were before the attack.
//
// The server runs with short timeouts (2 s for headers, 4 s to read a
// request or write a response, 4 s idle) so that the attack and the return
// to baseline fit in seconds; the defaults are the same mechanism, longer.
func runSlow(ctx context.Context, rn *run, engine string, res *result) error {
	dbURL, cleanup, err := rn.database(ctx, engine, "slow")
	if err != nil {
		return err
	}
	defer cleanup()
	maddr, err := freeAddr()
	if err != nil {
		return err
	}
	env := rn.instanceEnv(dbURL, "METRICS_ADDR="+maddr, "READ_HEADER_TIMEOUT=2s", "READ_TIMEOUT=4s",
		"WRITE_TIMEOUT=4s", "IDLE_TIMEOUT=4s")
	srv, err := newServer("api", rn.bin, rn.tmp, env)
	if err != nil {
		return err
	}
	if err := srv.start(); err != nil {
		return err
	}
	defer srv.kill()
	if err := srv.waitReady(ctx, 60*time.Second); err != nil {
		return err
	}
	c := newClient(srv.base(), 5*time.Second, 8)
	accts, err := makeAccounts(ctx, c, "slow", 1, nil)
	if err != nil {
		return err
	}
	a := accts[0]
	big, r, err := c.upload(ctx, a.token, "big.txt", textContent("big", 8<<20))
	if err != nil || r.status != 201 {
		return fmt.Errorf("upload: %v %s", err, statusOf(r))
	}

	// Warm the pools to their working size, then take the baseline.
	var wg sync.WaitGroup
	warm := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(warm) < time.Second {
				c.do(ctx, "GET", "/api/v1/users/me", http.Header{"Authorization": {"Bearer " + a.token}}, nil)
				c.do(ctx, "GET", "/api/v1/files", http.Header{"Authorization": {"Bearer " + a.token}}, nil)
			}
		}()
	}
	wg.Wait()
	c.close()
	time.Sleep(500 * time.Millisecond)
	pid := srv.pid()
	dbPort := ""
	if engine == "postgres" {
		dbPort = portOf(dbURL)
	}
	baseFDs, err := openFDs(pid)
	if err != nil {
		return fmt.Errorf("read /proc/%d/fd: %w", pid, err)
	}
	baseDB, baseOther, baseTargets := fdUse(pid, dbPort)
	baseG, gerr := goroutines(ctx, maddr)

	conns, window := 400, 20*time.Second
	if rn.short {
		conns, window = 200, 8*time.Second
	}
	var (
		opened, closedByServer, survived, refused431, served atomic.Int64
		peakFDs                                              atomic.Int64
		outcomes                                             sync.Map // kind/outcome -> *atomic.Int64
	)
	attackCtx, stopAttack := context.WithTimeout(ctx, window)
	defer stopAttack()
	kinds := []string{"slowloris", "slowloris", "slowloris", "slow-body", "slow-body", "idle", "oversized-headers", "slow-reader"}
	var attackers sync.WaitGroup
	for i := range conns {
		kind := kinds[i%len(kinds)]
		attackers.Add(1)
		go func() {
			defer attackers.Done()
			for attackCtx.Err() == nil {
				opened.Add(1)
				outcome := attack(attackCtx, srv.addr, kind, a.token, big.ID)
				n, _ := outcomes.LoadOrStore(kind+" "+outcome, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
				switch outcome {
				case "closed":
					closedByServer.Add(1)
				case "survived":
					survived.Add(1)
				case "431":
					refused431.Add(1)
				case "served":
					served.Add(1)
				}
				if kind == "oversized-headers" {
					time.Sleep(200 * time.Millisecond)
				}
			}
		}()
	}
	// Sample the descriptors while the attack runs.
	go func() {
		for attackCtx.Err() == nil {
			if n, err := openFDs(pid); err == nil && int64(n) > peakFDs.Load() {
				peakFDs.Store(int64(n))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()

	// The ordinary client, one request after another, during the whole window.
	normal := newClient(srv.base(), 5*time.Second, 2)
	var lat latencies
	var ok, failed int
	var failures []string
	for attackCtx.Err() == nil {
		start := time.Now()
		var r *response
		var err error
		if ok%5 == 4 {
			_, r, err = normal.login(ctx, a.email)
		} else {
			r, err = normal.do(ctx, "GET", "/api/v1/users/me", http.Header{"Authorization": {"Bearer " + a.token}}, nil)
		}
		lat.add(time.Since(start))
		switch {
		case err != nil:
			failed++
			failures = append(failures, err.Error())
		case r.status != 200:
			failed++
			failures = append(failures, fmt.Sprintf("%d %s", r.status, truncate(string(r.body), 120)))
		default:
			ok++
		}
		time.Sleep(20 * time.Millisecond)
	}
	attackers.Wait()
	normal.close()

	// Back to the baseline? Everything this suite opened is closed now.
	// The database pool may legitimately keep a connection it opened
	// during the attack, so its descriptors are counted apart.
	ended := time.Now()
	back := time.Duration(-1)
	var fds, dbFDs, other, gs int
	var targets map[string]int
	for time.Since(ended) < 30*time.Second {
		fds, _ = openFDs(pid)
		dbFDs, other, targets = fdUse(pid, dbPort)
		gs, _ = goroutines(ctx, maddr)
		if other <= baseOther && (gerr != nil || gs <= baseG+2) {
			back = time.Since(ended)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.requests = int64(ok+failed) + opened.Load()
	res.faults = opened.Load()
	res.recovery = back
	if failed > 0 {
		res.failf("the ordinary client failed %d of %d requests during the attack: %s", failed, ok+failed, strings.Join(capLines(failures, 3), " | "))
	}
	if n := survived.Load(); n > 0 {
		res.failf("%d held connection(s) were still open after %s: the server did not close them (%s)", n, holdLimit, outcomeList(&outcomes))
	}
	if n := served.Load(); n > 0 {
		res.failf("%d request(s) with oversized headers were served instead of refused", n)
	}
	if back < 0 {
		res.failf("not back to baseline 30 s after the attack: %d descriptors besides the database's (baseline %d), %d goroutines (baseline %d + 2); before %v, after %v",
			other, baseOther, gs, baseG, baseTargets, targets)
	}
	if gerr != nil {
		res.notef("goroutines not measurable (%v): file descriptors only", gerr)
	}
	if srv.running() {
		if err := srv.stop(); err != nil {
			res.failf("%v", err)
		}
	} else {
		res.failf("the server died during the attack:\n%s", srv.logTail(10))
	}
	res.notef("outcomes: %s", outcomeList(&outcomes))
	res.notef("%d attacking connections at a time (%d opened in %s: %d closed by the server, %d oversized headers refused with 431); fds %d (database %d) -> peak %d -> %d (database %d), goroutines %d -> %d; ordinary client %d/%d ok, p99 %s; recovery = attack end to baseline",
		conns, opened.Load(), window, closedByServer.Load(), refused431.Load(), baseFDs, baseDB, peakFDs.Load(), fds, dbFDs, baseG, gs, ok, ok+failed, lat.percentile(0.99).Round(time.Millisecond))
	return nil
}

// holdLimit is how long the server may keep a held connection: its longest
// timeout (4 s) and a margin for a loaded machine.
const holdLimit = 7 * time.Second

func outcomeList(m *sync.Map) string {
	var out []string
	m.Range(func(k, v any) bool {
		out = append(out, fmt.Sprintf("%s %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// attack holds one connection in the way kind says until the server closes
// it ("closed"), holdLimit passes without that ("survived"), the attack
// window ends first ("cut": not judged), or, for oversized headers, the
// server answers ("431" or "served").
func attack(ctx context.Context, addr, kind, token, fileID string) string {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, holdLimit)
	defer cancel()
	survivedOrCut := func() string {
		if time.Since(began) >= holdLimit {
			return "survived"
		}
		return "cut"
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	if kind == "slow-reader" {
		// A tiny receive window, so the server's writes block.
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			return nil
		}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return "cut"
		}
		time.Sleep(100 * time.Millisecond)
		return "no-connection"
	}
	defer conn.Close()
	closed := make(chan struct{})
	// Whatever the server sends or does, a read that ends means it closed
	// the connection (or answered and closed it).
	var first []byte
	var mu sync.Mutex
	if kind != "slow-reader" {
		go func() {
			br := bufio.NewReader(conn)
			line, _ := br.ReadString('\n')
			mu.Lock()
			first = []byte(line)
			mu.Unlock()
			io.Copy(io.Discard, br)
			close(closed)
		}()
	}
	write := func(s string) bool {
		conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, err := io.WriteString(conn, s)
		return err == nil
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	hold := func(step func() bool) string {
		for {
			select {
			case <-closed:
				return "closed"
			case <-ctx.Done():
				return survivedOrCut()
			case <-tick.C:
				if step != nil && !step() {
					// The write failed: the server has closed its side.
					select {
					case <-closed:
					case <-time.After(2 * time.Second):
					}
					return "closed"
				}
			}
		}
	}
	host := "Host: " + addr + "\r\n"
	switch kind {
	case "slowloris":
		write("GET /api/v1/users/me HTTP/1.1\r\n" + host)
		n := 0
		return hold(func() bool { n++; return write(fmt.Sprintf("X-Slow-%d: %d\r\n", n, rand.IntN(1000))) })
	case "slow-body":
		write("POST /api/v1/auth/login HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n{")
		return hold(func() bool { return write(" ") })
	case "idle":
		return hold(nil)
	case "oversized-headers":
		var b strings.Builder
		b.WriteString("GET /api/v1/users/me HTTP/1.1\r\n" + host + "Authorization: Bearer " + token + "\r\n")
		for i := range 200 {
			fmt.Fprintf(&b, "X-Big-%d: %s\r\n", i, strings.Repeat("h", 1000))
		}
		b.WriteString("\r\n")
		write(b.String())
		select {
		case <-closed:
		case <-ctx.Done():
			return survivedOrCut()
		}
		mu.Lock()
		defer mu.Unlock()
		if f := string(first); strings.Contains(f, " 431 ") {
			return "431"
		} else if strings.HasPrefix(f, "HTTP/1.1 2") {
			return "served"
		}
		return "closed"
	case "slow-reader":
		write("GET /api/v1/files/" + fileID + "/content HTTP/1.1\r\n" + host + "Authorization: Bearer " + token + "\r\n\r\n")
		// Read a few bytes now and then: the connection looks alive, the
		// response never drains.
		buf := make([]byte, 16)
		for ctx.Err() == nil {
			conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := conn.Read(buf); err != nil {
				if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					return "closed"
				}
				continue
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
		if v := survivedOrCut(); v == "cut" {
			return v
		}
		// The server may well have given up long ago: what it had already
		// handed to the kernel still arrives first. Drain fast; the end of
		// the stream (before the whole content) means it cut us off.
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.Copy(io.Discard, conn); err == nil {
			return "closed"
		}
		return "survived"
	}
	return "closed"
}

func portOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Port() == "" {
		return "5432"
	}
	return u.Port()
}

// goroutines reads go_goroutines from the metrics listener.
func goroutines(ctx context.Context, addr string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/metrics", nil)
	req.Close = true
	res, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("no go_goroutines in /metrics")
}
