package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Suite 3 (SQLite only): a write storm. 64 clients write as fast as they
// can for 60 s (10 s short): registrations, logins (successful and failed),
// uploads, deletions, profile changes and session revocations, all of which
// write rows and audit events through SQLite's single writer. Invariants:
// no "database is locked" (or SQLITE_BUSY) anywhere in the server log, no
// 5xx, every request answered, every acknowledged write present afterwards
// and the audit chain intact. Latency percentiles are reported, not asserted.
func runStorm(ctx context.Context, rn *run, engine string, res *result) error {
	srv, err := newServer("api", rn.bin, rn.tmp, rn.instanceEnv(""))
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
	const clients = 64
	c := newClient(srv.base(), 30*time.Second, clients)
	defer c.close()
	l := newLedger()
	res.lostWrites = 0
	accts, err := makeAccounts(ctx, c, "storm", 16, l)
	if err != nil {
		return err
	}
	dur := 60 * time.Second
	if rn.short {
		dur = 10 * time.Second
	}

	var (
		sent, fiveXX, noAnswer atomic.Int64
		seq                    atomic.Int64
		lat                    latencies
		mu                     sync.Mutex
		byOp                   = map[string]int{}
		firstErr               atomic.Value
	)
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for w := range clients {
		rng := rand.New(rand.NewPCG(rn.rng.Uint64(), uint64(w)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				sent.Add(1)
				start := time.Now()
				name, r, err := stormOp(ctx, c, rng, &seq, accts, l)
				lat.add(time.Since(start))
				mu.Lock()
				byOp[name]++
				mu.Unlock()
				switch {
				case err != nil:
					noAnswer.Add(1)
					firstErr.CompareAndSwap(nil, name+": "+err.Error())
				case r.status >= 500:
					fiveXX.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %d %s", name, r.status, truncate(string(r.body), 200)))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := dur

	res.requests = sent.Load()
	res.faults = clients // the fault is the contention: this many concurrent writers
	res.fiveXX = fiveXX.Load()
	if n := noAnswer.Load(); n > 0 {
		res.failf("%d request(s) got no answer, e.g. %v", n, firstErr.Load())
	}
	if res.fiveXX > 0 {
		res.failf("%d 5xx answer(s), e.g. %v", res.fiveXX, firstErr.Load())
	}
	for _, needle := range []string{"database is locked", "SQLITE_BUSY", "database table is locked"} {
		if n, sample := srv.logLines(needle, 3); n > 0 {
			res.failf("server log has %d line(s) with %q: %s", n, needle, strings.Join(sample, " | "))
		}
	}
	if err := srv.auditVerify(ctx); err != nil {
		res.failf("%v", err)
	}
	if err := srv.stop(); err != nil {
		res.failf("%v", err)
	}
	lost, problems, err := verifyLedger(ctx, engine, dsn(engine, "", srv), srv.dataDir+"/uploads", l)
	if err != nil {
		return err
	}
	res.lostWrites = int64(lost)
	for _, p := range problems {
		res.failf("%s", p)
	}
	events, _ := queryStrings(ctx, engine, dsn(engine, "", srv), "SELECT COUNT(*) FROM audit_events")
	var ops []string
	for k, v := range byOp {
		ops = append(ops, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(ops)
	res.notef("%d clients for %s: %.0f req/s; latency p50 %s, p99 %s, max %s; audit events %v",
		clients, dur, float64(res.requests)/elapsed.Seconds(), lat.percentile(0.50).Round(time.Millisecond),
		lat.percentile(0.99).Round(time.Millisecond), lat.percentile(1).Round(time.Millisecond), events)
	res.notef("mix: %s", strings.Join(ops, ", "))
	return nil
}

// stormOp is the write mix: mixOp's registrations, logins, uploads and
// deletions plus failed logins, profile changes and session revocations.
func stormOp(ctx context.Context, c *apiClient, rng *rand.Rand, seq *atomic.Int64, accts []account, l *ledger) (string, *response, error) {
	a := accts[rng.IntN(len(accts))]
	switch p := rng.IntN(100); {
	case p < 10:
		r, err := c.doJSON(ctx, "POST", "/api/v1/auth/login", "", map[string]any{
			"email": fmt.Sprintf("nobody-%d@torture.example", rng.IntN(1000)), "password": "Wrong-pass-1"}, nil)
		return "failed-login", r, err
	case p < 20:
		r, err := c.doJSON(ctx, "PATCH", "/api/v1/users/me", a.token, map[string]any{
			"display_name": fmt.Sprintf("Storm %d", seq.Add(1))}, nil)
		return "update-me", r, err
	case p < 25:
		r, err := c.doJSON(ctx, "DELETE", "/api/v1/auth/sessions", a.token, nil, nil)
		return "revoke-others", r, err
	default:
		return mixOp(ctx, c, rng, seq, "storm", accts, l)
	}
}
