package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Suite 2: crash durability. Concurrent registrations, logins, uploads and
// deletions run against the server while it is killed with SIGKILL at three
// random moments. After each kill the server starts again on the same data
// and, with the load held, the suite checks that
//   - every write acknowledged with a 2xx is there exactly (user and session
//     rows, file rows with the acknowledged size and SHA-256 and their
//     content on disk), and every acknowledged deletion is gone;
//   - nothing is half-written: every file row has its complete content,
//     every stored file has its row and no temporary upload is left once the
//     upload sweep has run (five seconds after start), every session has its
//     refresh token;
//   - `api audit verify` finds the chain intact.
func runCrash(ctx context.Context, rn *run, engine string, res *result) error {
	dbURL, cleanup, err := rn.database(ctx, engine, "crash")
	if err != nil {
		return err
	}
	defer cleanup()
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
	c := newClient(srv.base(), 20*time.Second, 32)
	defer c.close()
	l := newLedger()
	res.lostWrites = 0
	accts, err := makeAccounts(ctx, c, "crash", 8, l)
	if err != nil {
		return err
	}
	total := 2000
	if rn.short {
		total = 300
	}
	const kills = 3
	// One kill in the middle half of each third of the run.
	var killAt [kills]int64
	for i := range kills {
		third := total / kills
		killAt[i] = int64(i*third + third/4 + rn.rng.IntN(third/2))
	}
	uploadDir := filepath.Join(srv.dataDir, "uploads")
	dbDSN := dsn(engine, dbURL, srv)

	var (
		answered, sent, fiveXX, unexpected atomic.Int64
		inflight                           sync.WaitGroup
		gate                               sync.RWMutex // read-locked to start a request; a crash takes it to hold new ones
		seq                                atomic.Int64
		firstErr                           atomic.Value
		crashes                            atomic.Int64
		down                               atomic.Bool
		maxRecovery                        time.Duration
	)
	crashNow := make(chan int, kills)
	var next [kills]atomic.Bool
	worker := func(rng *rand.Rand) {
		for ctx.Err() == nil {
			gate.RLock()
			if sent.Load() >= int64(total) {
				gate.RUnlock()
				return
			}
			sent.Add(1)
			inflight.Add(1)
			epoch := crashes.Load()
			gate.RUnlock()
			_, r, err := mixOp(ctx, c, rng, &seq, "crash", accts, l)
			// No answer is expected only around a kill: from just before the
			// signal until the restarted server is ready.
			if err != nil && crashes.Load() == epoch && !down.Load() {
				unexpected.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
			if err == nil {
				n := answered.Add(1)
				if r.status >= 500 {
					fiveXX.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s", r.status, truncate(string(r.body), 200)))
				}
				for i := range kills {
					if n >= killAt[i] && next[i].CompareAndSwap(false, true) {
						crashNow <- i
					}
				}
			}
			inflight.Done()
		}
	}
	var wg sync.WaitGroup
	for w := range 12 {
		rng := rand.New(rand.NewPCG(rn.rng.Uint64(), uint64(w)))
		wg.Add(1)
		go func() { defer wg.Done(); worker(rng) }()
	}
	loadDone := make(chan struct{})
	go func() { wg.Wait(); close(loadDone) }()

	crash := func(i int) error {
		// Hold new requests (those in flight go on), then kill: the
		// requests in flight are cut off at a random point of their work.
		gate.Lock()
		defer gate.Unlock()
		down.Store(true)
		defer down.Store(false)
		crashes.Add(1)
		killed := time.Now()
		if err := srv.kill(); err != nil {
			return err
		}
		inflight.Wait()
		u, s, f, d := l.counts()
		rn.logf("kill %d after %d answers: ledger %d users, %d sessions, %d files, %d deletions", i+1, answered.Load(), u, s, f, d)
		if err := ageUploads(uploadDir); err != nil {
			return err
		}
		c.close()
		if err := srv.start(); err != nil {
			return err
		}
		if err := srv.waitReady(ctx, 60*time.Second); err != nil {
			return err
		}
		rec := time.Since(killed)
		maxRecovery = max(maxRecovery, rec)
		if left := waitSwept(ctx, engine, dbDSN, uploadDir, 15*time.Second); len(left) > 0 {
			res.failf("kill %d: the upload sweep at start left %d file(s) without a row or temporary: %s", i+1, len(left), strings.Join(capLines(left, 5), ", "))
		}
		lost, problems, err := verifyLedger(ctx, engine, dbDSN, uploadDir, l)
		if err != nil {
			return err
		}
		res.lostWrites += int64(lost)
		for _, p := range problems {
			res.failf("kill %d: %s", i+1, p)
		}
		if n, err := queryStrings(ctx, engine, dbDSN, "SELECT COUNT(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id)"); err != nil {
			return err
		} else if n[0] != "0" {
			res.failf("kill %d: %s session(s) without a refresh token", i+1, n[0])
		}
		// The quota's per-account counter is written by triggers in the
		// uploads' and deletions' own transactions: a kill cannot leave it
		// apart from the files it counts.
		if n, err := queryStrings(ctx, engine, dbDSN, `SELECT COUNT(*) FROM users u
WHERE COALESCE((SELECT bytes FROM file_usage g WHERE g.owner_id = u.id), 0) <> COALESCE((SELECT SUM(size) FROM files f WHERE f.owner_id = u.id), 0)`); err != nil {
			return err
		} else if n[0] != "0" {
			res.failf("kill %d: %s account(s) whose usage counter differs from the sum of their files", i+1, n[0])
		}
		if err := srv.auditVerify(ctx); err != nil {
			res.failf("kill %d: %v", i+1, err)
		}
		checkDownloads(ctx, c, accts, l, res, fmt.Sprintf("kill %d", i+1))
		return nil
	}

	timeout := time.After(10 * time.Minute)
	done := 0
loop:
	for {
		select {
		case i := <-crashNow:
			if err := crash(i); err != nil {
				return fmt.Errorf("kill %d: %w", i+1, err)
			}
			done++
		case <-loadDone:
			break loop
		case <-timeout:
			return fmt.Errorf("load did not finish within 10 minutes")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Kills the load finished before reaching (answers lost to earlier
	// kills): done now on an idle server, so every run has its three.
	for done < kills {
		i := done
		select {
		case i = <-crashNow:
		default:
			res.notef("kill %d came after the load ended (idle server)", i+1)
		}
		if err := crash(i); err != nil {
			return fmt.Errorf("kill %d: %w", i+1, err)
		}
		done++
	}

	// The last state once more, after a clean stop and start.
	if err := srv.stop(); err != nil {
		res.failf("%v", err)
	}
	if err := srv.start(); err != nil {
		return err
	}
	if err := srv.waitReady(ctx, 60*time.Second); err != nil {
		return err
	}
	lost, problems, err := verifyLedger(ctx, engine, dbDSN, uploadDir, l)
	if err != nil {
		return err
	}
	res.lostWrites += int64(lost)
	for _, p := range problems {
		res.failf("after the run: %s", p)
	}
	if err := srv.stop(); err != nil {
		res.failf("%v", err)
	}

	res.requests = sent.Load()
	res.faults = kills
	res.fiveXX = fiveXX.Load()
	res.recovery = maxRecovery
	if n := unexpected.Load(); n > 0 {
		res.failf("%d request(s) got no answer while the server was up, e.g. %v", n, firstErr.Load())
	}
	if res.fiveXX > 0 {
		res.failf("%d 5xx answer(s), e.g. %v", res.fiveXX, firstErr.Load())
	}
	u, s, f, d := l.counts()
	res.notef("%d answered of %d sent; ledger: %d users, %d sessions, %d live files, %d deletions; %d SIGKILLs at answers %v; recovery = kill to /readyz 200 (max)",
		answered.Load(), sent.Load(), u, s, f, d, kills, killAt)
	return nil
}

// checkDownloads reads a sample of acknowledged files back through the API.
func checkDownloads(ctx context.Context, c *apiClient, accts []account, l *ledger, res *result, when string) {
	l.mu.Lock()
	var ids []string
	for id := range l.files {
		ids = append(ids, id)
		if len(ids) == 10 {
			break
		}
	}
	want := map[string]apiFile{}
	for _, id := range ids {
		want[id] = l.files[id]
	}
	l.mu.Unlock()
	for _, id := range ids {
		f := want[id]
		for _, a := range accts {
			r, err := c.do(ctx, "GET", "/api/v1/files/"+id+"/content", http.Header{"Authorization": {"Bearer " + a.token}}, nil)
			if err != nil {
				res.failf("%s: download %s: %v", when, id, err)
				break
			}
			if r.status == 404 {
				continue // another owner's
			}
			if r.status != 200 || sha256Hex(r.body) != f.SHA256 || int64(len(r.body)) != f.Size {
				res.failf("%s: download %s: %d, %d bytes %s, want %d bytes %s", when, id, r.status, len(r.body), sha256Hex(r.body)[:12], f.Size, f.SHA256[:12])
			}
			break
		}
	}
}
