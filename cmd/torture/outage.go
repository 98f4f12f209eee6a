package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Suite 4 (PostgreSQL): a database outage. The service runs on a private
// PostgreSQL server of this suite's own, under a steady mixed load; the
// server is stopped mid-load and started again. Invariants:
//   - every request is answered within the client's timeout (no hang);
//   - while the database is down, what cannot be served is a 503 problem
//     (never a 500 or another 5xx);
//   - /readyz answers 503 within 1 s of the stop;
//   - once the database is back the service recovers by itself (a write
//     and /readyz succeed) within 5 s, without a restart;
//   - no write acknowledged before, during or after the outage is lost.
func runOutage(ctx context.Context, rn *run, engine string, res *result) error {
	pg, err := newPrivatePG(ctx, rn.tmp)
	if err != nil {
		return err
	}
	if err := pg.start(ctx); err != nil {
		return err
	}
	defer pg.stop()
	if err := pg.createDB(ctx, "torture"); err != nil {
		return err
	}
	dbURL := pg.url("torture")
	srv, err := newServer("api", rn.bin, rn.tmp, rn.instanceEnv(dbURL))
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
	const clientTimeout = 10 * time.Second
	c := newClient(srv.base(), clientTimeout, 32)
	defer c.close()
	l := newLedger()
	res.lostWrites = 0
	accts, err := makeAccounts(ctx, c, "outage", 8, l)
	if err != nil {
		return err
	}
	cycles, outage, calm := 3, 5*time.Second, 3*time.Second
	if rn.short {
		cycles, outage, calm = 1, 3*time.Second, 2*time.Second
	}

	var (
		sent, answered, noAnswer, fiveXX, bad5xx, unavailable atomic.Int64
		seq                                                   atomic.Int64
		stop                                                  atomic.Bool
		mu                                                    sync.Mutex
		samples                                               []string
		worst                                                 time.Duration
	)
	sample := func(s string) {
		mu.Lock()
		if len(samples) < 8 {
			samples = append(samples, s)
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := range 8 {
		rng := rand.New(rand.NewPCG(rn.rng.Uint64(), uint64(w)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() && ctx.Err() == nil {
				sent.Add(1)
				start := time.Now()
				var (
					name string
					r    *response
					err  error
				)
				if rng.IntN(4) == 0 {
					a := accts[rng.IntN(len(accts))]
					name = "me"
					r, err = c.do(ctx, "GET", "/api/v1/users/me", http.Header{"Authorization": {"Bearer " + a.token}}, nil)
				} else {
					name, r, err = mixOp(ctx, c, rng, &seq, "outage", accts, l)
				}
				d := time.Since(start)
				mu.Lock()
				worst = max(worst, d)
				mu.Unlock()
				switch {
				case err != nil:
					noAnswer.Add(1)
					sample(fmt.Sprintf("%s: no answer after %s: %v", name, d.Round(time.Millisecond), err))
				case r.status == 503:
					answered.Add(1)
					unavailable.Add(1)
					if perr := isProblem(r); perr != nil {
						bad5xx.Add(1)
						sample(fmt.Sprintf("%s: 503 that is not a problem: %v", name, perr))
					}
				case r.status >= 500:
					answered.Add(1)
					fiveXX.Add(1)
					bad5xx.Add(1)
					sample(fmt.Sprintf("%s: %d %s", name, r.status, truncate(string(r.body), 160)))
				default:
					answered.Add(1)
				}
				// A client backs off a little when refused.
				if err != nil || r.status >= 500 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}

	probe := newClient(srv.base(), 2*time.Second, 2)
	defer probe.close()
	ready := func() int {
		r, err := probe.do(ctx, "GET", "/readyz", nil, nil)
		if err != nil {
			return 0
		}
		return r.status
	}
	var readyLags, recoveries []time.Duration
	var cycleErr error
	for i := range cycles {
		time.Sleep(calm)
		rn.logf("outage %d: stopping postgres (%d answered so far)", i+1, answered.Load())
		// /readyz must turn 503 within 1 s of the stop signal: polled from
		// the moment it is sent, while PostgreSQL shuts down.
		lagc := make(chan time.Duration, 1)
		stopped := time.Now()
		go func() {
			for time.Since(stopped) < 5*time.Second {
				if ready() == 503 {
					lagc <- time.Since(stopped)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			lagc <- -1
		}()
		if err := pg.stop(); err != nil {
			cycleErr = err
			break
		}
		lag := <-lagc
		if lag < 0 || lag > time.Second {
			res.failf("outage %d: /readyz did not answer 503 within 1 s of the database stopping (lag %v)", i+1, lag)
		}
		readyLags = append(readyLags, lag)
		time.Sleep(outage - time.Since(stopped))
		if err := pg.start(ctx); err != nil {
			cycleErr = err
			break
		}
		back := time.Now()
		rec := time.Duration(-1)
		for time.Since(back) < 10*time.Second {
			if ready() == 200 {
				email := fmt.Sprintf("outage-probe-%d-%d@torture.example", i, rn.rng.Uint64())
				if u, r, err := probe.register(ctx, email, fmt.Sprintf("probe%d%d", i, rn.rng.IntN(1e9)), nil); err == nil && r.status == 201 {
					l.addUser(u.ID, email)
					rec = time.Since(back)
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if rec < 0 || rec > 5*time.Second {
			res.failf("outage %d: not recovered (readyz 200 and a write) within 5 s of the database being back (took %v)", i+1, rec)
		}
		recoveries = append(recoveries, rec)
		res.recovery = max(res.recovery, rec)
	}
	time.Sleep(calm)
	stop.Store(true)
	wg.Wait()
	if cycleErr != nil {
		return cycleErr
	}

	res.requests = sent.Load()
	res.faults = int64(cycles)
	res.fiveXX = fiveXX.Load() // the expected 503s are counted in the notes
	if n := noAnswer.Load(); n > 0 {
		res.failf("%d request(s) got no answer within %s", n, clientTimeout)
	}
	if n := bad5xx.Load(); n > 0 {
		res.failf("%d 5xx answer(s) other than a 503 problem", n)
	}
	if len(samples) > 0 {
		sort.Strings(samples)
		res.failf("examples:\n%s", strings.Join(samples, "\n"))
	}
	lost, problems, err := verifyLedger(ctx, "postgres", dbURL, filepath.Join(srv.dataDir, "uploads"), l)
	if err != nil {
		return err
	}
	res.lostWrites = int64(lost)
	for _, p := range problems {
		res.failf("%s", p)
	}
	if err := srv.auditVerify(ctx); err != nil {
		res.failf("%v", err)
	}
	if err := srv.stop(); err != nil {
		res.failf("%v", err)
	}
	res.notef("%d outage(s) of %s: %d answered, %d of them 503 while the database was down; slowest answer %s; /readyz 503 after %v; recovered after %v",
		cycles, outage, answered.Load(), unavailable.Load(), worst.Round(time.Millisecond), roundAll(readyLags), roundAll(recoveries))
	return nil
}

func roundAll(ds []time.Duration) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Round(time.Millisecond).String())
	}
	return out
}
