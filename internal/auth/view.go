package auth

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"secureapi/internal/user"
)

// Change is one row of the database's change feed: a session (SessionID)
// or every session of an account (UserID) may no longer be what a cache
// holds. Seq identifies the row; Pos orders it for the feed's cursor.
type Change struct {
	Seq, Pos  int64
	SessionID string
	UserID    string
}

// Feed reads the change feed that database triggers fill on every
// revocation, session deletion and change of an account's state or role.
type Feed interface {
	// Changes returns the rows at or after cursor (none when cursor is 0)
	// and the cursor for the next call. A row may come back in later calls
	// until the cursor passes it; Seq tells repeats apart.
	Changes(ctx context.Context, cursor int64) ([]Change, int64, error)
	// Prune deletes rows older than age.
	Prune(ctx context.Context, age time.Duration) error
}

// View timing. A cached state is used only while the last successful read
// of the feed began less than staleAfter ago, so a revocation on any
// instance takes effect everywhere within that bound, and a feed that fails
// or lags sends every request to the database (fail closed).
const (
	viewPoll       = 200 * time.Millisecond
	viewStaleAfter = time.Second
	viewPruneEvery = 5 * time.Minute
	viewPruneAge   = time.Hour
	viewMaxEntries = 100_000
)

// View is an in-memory copy of the state of live sessions and of the
// accounts they belong to, so that a request with a valid access token, and
// a read of the caller's own account, need no database read. It is exact:
// entries are dropped by the change feed that database triggers fill (read
// every viewPoll, and at once after this instance's own writes, see Sync),
// and it is used only while that feed is known to be current.
type View struct {
	feed Feed
	log  *slog.Logger
	// base anchors the monotonic clock that times are kept on, so a jump
	// of the wall clock cannot make a stale view look fresh.
	base time.Time

	mu       sync.Mutex
	entries  map[string]State   // live sessions by id
	profiles map[string]Profile // accounts by id
	gen      uint64             // bumped whenever the maps may have lost a change

	pollMu sync.Mutex
	cursor int64
	seen   map[int64]int64 // Seq -> Pos of rows the cursor has not passed yet
	// okAt is the time (see since) at which the last successful read of
	// the feed began; 0 while the feed is failing.
	okAt atomic.Int64
	// failing is set by a failed read: the next good one starts over.
	failing bool

	hits, misses, fallbacks atomic.Uint64
}

// NewView returns a view over feed; Run keeps it current.
func NewView(feed Feed, log *slog.Logger) *View {
	return &View{feed: feed, log: log, base: time.Now(), entries: map[string]State{}, profiles: map[string]Profile{}, seen: map[int64]int64{}}
}

// Run reads the feed every viewPoll until ctx ends.
func (v *View) Run(ctx context.Context) {
	t := time.NewTicker(viewPoll)
	defer t.Stop()
	lastPrune := time.Now()
	for {
		_ = v.Sync(ctx)
		if time.Since(lastPrune) > viewPruneEvery {
			lastPrune = time.Now()
			if err := v.feed.Prune(ctx, viewPruneAge); err != nil && ctx.Err() == nil {
				v.log.Warn("prune the session change feed", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// since is the monotonic time since the view was made, never 0.
func (v *View) since() int64 { return int64(time.Since(v.base)) + 1 }

// Fresh reports whether cached states may be used now.
func (v *View) Fresh() bool {
	ok := v.okAt.Load()
	return ok != 0 && v.since()-ok < int64(viewStaleAfter)
}

// Sync reads the feed unless a read that began after Sync was called has
// already succeeded, and applies it. After a write, it makes this
// instance's own revocations effective before the response goes out.
func (v *View) Sync(ctx context.Context) error {
	called := v.since()
	v.pollMu.Lock()
	defer v.pollMu.Unlock()
	if v.okAt.Load() >= called {
		return nil
	}
	began := v.since()
	changes, next, err := v.feed.Changes(ctx, v.cursor)
	if err != nil {
		v.okAt.Store(0)
		if !v.failing && ctx.Err() == nil {
			v.log.Warn("session change feed unavailable: every request checks the database", "error", err)
		}
		v.failing = true
		return err
	}
	v.mu.Lock()
	if v.failing || v.cursor == 0 {
		// First read, or the first after a failure: anything may have
		// happened meanwhile, so start from an empty view.
		clear(v.entries)
		clear(v.profiles)
		clear(v.seen)
		v.gen++
		if v.failing {
			v.log.Info("session change feed back")
		}
		v.failing = false
		changes = nil
	}
	dropped := false
	for _, c := range changes {
		if _, dup := v.seen[c.Seq]; dup {
			continue
		}
		v.seen[c.Seq] = c.Pos
		dropped = true
		if c.SessionID != "" {
			delete(v.entries, c.SessionID)
		}
		if c.UserID != "" {
			delete(v.profiles, c.UserID)
			for id, st := range v.entries {
				if st.UserID == c.UserID {
					delete(v.entries, id)
				}
			}
		}
	}
	if dropped {
		v.gen++
	}
	v.cursor = max(next, v.cursor)
	for seq, pos := range v.seen {
		if pos < v.cursor {
			delete(v.seen, seq)
		}
	}
	v.mu.Unlock()
	v.okAt.Store(began)
	return nil
}

// lookup returns the cached state of a live session.
func (v *View) lookup(sessionID string) (State, bool) {
	if !v.Fresh() {
		v.fallbacks.Add(1)
		return State{}, false
	}
	v.mu.Lock()
	st, ok := v.entries[sessionID]
	v.mu.Unlock()
	if ok {
		v.hits.Add(1)
	} else {
		v.misses.Add(1)
	}
	return st, ok
}

// generation is read before the database read whose result store keeps.
func (v *View) generation() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.gen
}

// store keeps a live session's state read from the database, unless a
// change was applied since gen was read (the read may predate it).
func (v *View) store(gen uint64, sessionID string, st State) {
	keep(v, gen, v.entries, sessionID, st)
}

// keep puts a value read from the database into m (one of the view's
// maps), unless the view is stale or a change was applied since gen.
func keep[V any](v *View, gen uint64, m map[string]V, key string, val V) {
	if !v.Fresh() {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gen != gen {
		return
	}
	evictOne(m)
	m[key] = val
}

// evictOne makes room in a full map by dropping a random entry (Go's map
// order).
func evictOne[V any](m map[string]V) {
	if len(m) < viewMaxEntries {
		return
	}
	for id := range m {
		delete(m, id)
		return
	}
}

// Profile is an account as its owner sees it.
type Profile struct {
	User       user.User
	MFAEnabled bool
}

// profile returns a cached account.
func (v *View) profile(userID string) (Profile, bool) {
	if !v.Fresh() {
		return Profile{}, false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	p, ok := v.profiles[userID]
	return p, ok
}

// storeProfile keeps an account read from the database, unless a change
// was applied since gen was read.
func (v *View) storeProfile(gen uint64, p Profile) {
	keep(v, gen, v.profiles, p.User.ID, p)
}

// Stats reports cache hits, misses and requests answered from the database
// because the feed was not current.
func (v *View) Stats() (hits, misses, fallbacks uint64) {
	return v.hits.Load(), v.misses.Load(), v.fallbacks.Load()
}
