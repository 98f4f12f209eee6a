package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Suite 5 (PostgreSQL): a Redis outage. Two instances share one database and
// a private Redis for their rate limits, under a steady load of logins and
// authenticated reads; Redis is stopped and started again. Invariants:
//   - with Redis up, the auth limit is one budget across both instances;
//   - with Redis down, each instance limits on its own (README "Rate
//     limits"): a client gets the budget once per instance, then 429, so the
//     limits still hold rather than failing open;
//   - logins keep working throughout: no 5xx, every request answered, every
//     acknowledged login's session present afterwards;
//   - once Redis is back the budget is shared again, without a restart.
func runRedisOutage(ctx context.Context, rn *run, engine string, res *result) error {
	rd, err := newPrivateRedis(rn.tmp)
	if err != nil {
		return err
	}
	if err := rd.start(ctx); err != nil {
		return err
	}
	defer rd.stop()
	dbURL, cleanup, err := rn.database(ctx, engine, "redis")
	if err != nil {
		return err
	}
	defer cleanup()
	const budget = 6
	env := rn.instanceEnv(dbURL, "REDIS_URL="+rd.url(), "TRUSTED_PROXIES=127.0.0.1/32",
		fmt.Sprintf("RATE_LIMIT_AUTH_PER_MINUTE=%d", budget), "RATE_LIMIT_IP_PER_MINUTE=100000")
	var insts [2]*server
	for i, name := range []string{"a", "b"} {
		if insts[i], err = newServer(name, rn.bin, rn.tmp, env); err != nil {
			return err
		}
		// One after the other: the first applies the migrations.
		if err := insts[i].start(); err != nil {
			return err
		}
		defer insts[i].kill()
		if err := insts[i].waitReady(ctx, 60*time.Second); err != nil {
			return err
		}
	}
	clients := [2]*apiClient{newClient(insts[0].base(), 10*time.Second, 16), newClient(insts[1].base(), 10*time.Second, 16)}
	defer clients[0].close()
	defer clients[1].close()

	// Every request comes "through the proxy" for a client address of its
	// own unless a check needs one address for several requests.
	var ipSeq atomic.Int64
	freshIP := func() string {
		n := ipSeq.Add(1)
		return fmt.Sprintf("198.18.%d.%d", (n/250)%250, n%250+1)
	}
	via := func(ip string) http.Header {
		return http.Header{"X-Forwarded-For": {ip}, "Content-Type": {"application/json"}}
	}
	var sent atomic.Int64
	post := func(i int, path, ip string, body string) (*response, error) {
		sent.Add(1)
		return clients[i].do(ctx, "POST", path, via(ip), []byte(body))
	}

	l := newLedger()
	res.lostWrites = 0
	var accts []account
	for i := range 4 {
		email := fmt.Sprintf("redis-%d@torture.example", i)
		r, err := post(i%2, "/api/v1/auth/register", freshIP(), fmt.Sprintf(`{"email":%q,"username":"redis%d","password":%q}`, email, i, testPassword))
		if err != nil || r.status != 201 {
			return fmt.Errorf("register: %v %s", err, statusOf(r))
		}
		accts = append(accts, account{email: email})
	}

	// The load: logins with the right password and reads with the token,
	// on either instance, each from a client address of its own.
	var (
		fiveXX, noAnswer, loginsOK, loginsRefused atomic.Int64
		stop                                      atomic.Bool
		mu                                        sync.Mutex
		samples                                   []string
	)
	sample := func(s string) {
		mu.Lock()
		if len(samples) < 6 {
			samples = append(samples, s)
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := range 4 {
		rng := rand.New(rand.NewPCG(rn.rng.Uint64(), uint64(w)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() && ctx.Err() == nil {
				i := rng.IntN(2)
				a := accts[rng.IntN(len(accts))]
				r, err := post(i, "/api/v1/auth/login", freshIP(), fmt.Sprintf(`{"email":%q,"password":%q}`, a.email, testPassword))
				switch {
				case err != nil:
					noAnswer.Add(1)
					sample("login: " + err.Error())
					continue
				case r.status >= 500:
					fiveXX.Add(1)
					sample(fmt.Sprintf("login: %d %s", r.status, truncate(string(r.body), 160)))
					continue
				case r.status != 200:
					loginsRefused.Add(1)
					sample(fmt.Sprintf("login refused: %d %s", r.status, truncate(string(r.body), 160)))
					continue
				}
				loginsOK.Add(1)
				var tok struct {
					AccessToken string `json:"access_token"`
				}
				json.Unmarshal(r.body, &tok)
				l.addSession(sessionID(tok.AccessToken), "")
				sent.Add(1)
				me, err := clients[1-i].do(ctx, "GET", "/api/v1/users/me", http.Header{"Authorization": {"Bearer " + tok.AccessToken}, "X-Forwarded-For": {freshIP()}}, nil)
				switch {
				case err != nil:
					noAnswer.Add(1)
					sample("me: " + err.Error())
				case me.status != 200:
					if me.status >= 500 {
						fiveXX.Add(1)
					}
					sample(fmt.Sprintf("me: %d %s", me.status, truncate(string(me.body), 160)))
				}
				time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond)
			}
		}()
	}

	// budgetFor spends one client address's auth budget: attempts alternate
	// between the instances listed; it returns how many were let through.
	var probeSeq atomic.Int64
	budgetFor := func(order []int, attempts int) (allowed int, err error) {
		ip := freshIP()
		for k := range attempts {
			i := order[k%len(order)]
			email := fmt.Sprintf("probe-%d@torture.example", probeSeq.Add(1))
			r, err := post(i, "/api/v1/auth/login", ip, fmt.Sprintf(`{"email":%q,"password":"Wrong-pass-1"}`, email))
			if err != nil {
				return allowed, err
			}
			switch r.status {
			case 401:
				allowed++
			case 429:
			default:
				return allowed, fmt.Errorf("probe login on %s: %d %s", insts[i].name, r.status, truncate(string(r.body), 160))
			}
		}
		return allowed, nil
	}
	shared := func() (bool, error) {
		n, err := budgetFor([]int{0, 1}, 2*budget+2)
		return n == budget, err
	}

	cycles, down := 2, 4*time.Second
	if rn.short {
		cycles, down = 1, 2*time.Second
	}
	var cycleErr error
	for c := range cycles {
		time.Sleep(time.Second)
		if ok, err := shared(); err != nil || !ok {
			res.failf("cycle %d, Redis up: the auth budget is not shared by both instances (%v)", c+1, err)
		}
		rn.logf("cycle %d: stopping redis", c+1)
		rd.stop()
		time.Sleep(down / 2)
		// Per instance now: the budget once on each, then 429 on each.
		for i := range 2 {
			n, err := budgetFor([]int{i}, budget+3)
			if err != nil || n != budget {
				res.failf("cycle %d, Redis down: instance %s let %d of %d attempts through, want its own budget %d (%v)",
					c+1, insts[i].name, n, budget+3, budget, err)
			}
		}
		time.Sleep(down / 2)
		if err := rd.start(ctx); err != nil {
			cycleErr = err
			break
		}
		back := time.Now()
		rec := time.Duration(-1)
		for time.Since(back) < 10*time.Second {
			if ok, err := shared(); err == nil && ok {
				rec = time.Since(back)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if rec < 0 {
			res.failf("cycle %d: the budget is not shared again within 10 s of Redis returning", c+1)
		}
		res.recovery = max(res.recovery, rec)
	}
	time.Sleep(time.Second)
	stop.Store(true)
	wg.Wait()
	if cycleErr != nil {
		return cycleErr
	}
	for _, in := range insts {
		if n, _ := in.logLines("primary backend failed", 1); n == 0 {
			res.failf("instance %s never logged the fall-back to per-instance limits", in.name)
		}
		if n, _ := in.logLines("primary backend answers again", 1); n == 0 {
			res.failf("instance %s never logged that Redis answers again", in.name)
		}
	}
	lost, problems, err := verifyLedger(ctx, engine, dbURL, insts[0].dataDir+"/uploads", l)
	if err != nil {
		return err
	}
	res.lostWrites = int64(lost)
	for _, p := range problems {
		res.failf("%s", p)
	}
	for _, in := range insts {
		if err := in.stop(); err != nil {
			res.failf("%v", err)
		}
	}
	res.requests = sent.Load()
	res.faults = int64(cycles)
	res.fiveXX = fiveXX.Load()
	if n := noAnswer.Load(); n > 0 {
		res.failf("%d request(s) got no answer", n)
	}
	if res.fiveXX > 0 || loginsRefused.Load() > 0 {
		res.failf("%d 5xx, %d logins refused: %s", res.fiveXX, loginsRefused.Load(), strings.Join(samples, " | "))
	}
	res.notef("2 instances, auth budget %d/min per client; %d Redis outage(s) of %s; %d logins succeeded throughout; recovery = Redis back to a shared budget observed",
		budget, cycles, down, loginsOK.Load())
	return nil
}
