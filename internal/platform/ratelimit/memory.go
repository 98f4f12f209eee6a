package ratelimit

import (
	"container/list"
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	// defaultMaxKeys bounds memory when many distinct keys are active at
	// once (an address scan, a botnet); at roughly 200 bytes a key it is
	// about 20 MB.
	defaultMaxKeys = 100_000
	// defaultSweepEvery is how often buckets that have refilled are dropped.
	defaultSweepEvery = time.Minute
)

// Memory keeps one token bucket per key in this process. Buckets that have
// refilled completely are dropped by a periodic sweep: a full bucket behaves
// exactly like a new one, so dropping it never loosens a limit. When more
// than 100 000 keys are active at once, the least recently used key is
// dropped to make room, which gives that key a fresh bucket.
type Memory struct {
	now     func() time.Time
	maxKeys int

	mu      sync.Mutex
	entries map[string]*list.Element // of *memEntry
	lru     *list.List               // most recently used at the front

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var _ Limiter = (*Memory)(nil)

type memEntry struct {
	key   string
	limit Limit // as given, to notice when a caller changes it
	lim   *rate.Limiter
	// fullAt is when the bucket will be full again, after which the entry
	// carries no information.
	fullAt time.Time
}

type memoryConfig struct {
	now        func() time.Time
	maxKeys    int
	sweepEvery time.Duration // <= 0: no background sweep
}

// NewMemory returns an in-memory limiter and starts its sweeper; call Close
// to stop it.
func NewMemory() *Memory {
	return newMemory(memoryConfig{now: time.Now, maxKeys: defaultMaxKeys, sweepEvery: defaultSweepEvery})
}

func newMemory(cfg memoryConfig) *Memory {
	m := &Memory{
		now:     cfg.now,
		maxKeys: cfg.maxKeys,
		entries: make(map[string]*list.Element),
		lru:     list.New(),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if cfg.sweepEvery > 0 {
		go m.sweepLoop(cfg.sweepEvery)
	} else {
		close(m.done)
	}
	return m
}

// Close stops the background sweep. The limiter keeps answering afterwards
// (the key cap still bounds its memory). Close may be called more than once.
func (m *Memory) Close() {
	m.closeOnce.Do(func() { close(m.stop) })
	<-m.done
}

// Allow takes one token from key's bucket if one is available. It never
// returns an error.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	if l.Disabled() {
		return unlimited, nil
	}
	burst := l.burst()
	perSecond := l.perSecond()
	now := m.now()

	// One lock around lookup and decision keeps the sweep from dropping a
	// bucket between the two, which would forget a spent token.
	m.mu.Lock()
	defer m.mu.Unlock()

	e := m.entry(key, l, now)
	allowed := e.lim.AllowN(now, 1)
	tokens := e.lim.TokensAt(now)

	res := Result{
		Allowed:    allowed,
		Limit:      burst,
		Remaining:  int(math.Floor(tokens)),
		ResetAfter: seconds((float64(burst) - tokens) / perSecond),
	}
	if !allowed {
		res.Remaining = 0
		res.RetryAfter = seconds((1 - tokens) / perSecond)
	}
	e.fullAt = now.Add(res.ResetAfter)
	return res, nil
}

// entry returns key's bucket, creating it (and evicting the least recently
// used key when over the cap) or adjusting it to a changed limit. m.mu must
// be held.
func (m *Memory) entry(key string, l Limit, now time.Time) *memEntry {
	r := rate.Limit(l.perSecond())
	if el, ok := m.entries[key]; ok {
		m.lru.MoveToFront(el)
		e := el.Value.(*memEntry)
		if e.limit != l {
			e.lim.SetLimitAt(now, r)
			e.lim.SetBurstAt(now, l.burst())
			e.limit = l
		}
		return e
	}
	e := &memEntry{key: key, limit: l, lim: rate.NewLimiter(r, l.burst())}
	m.entries[key] = m.lru.PushFront(e)
	for m.maxKeys > 0 && m.lru.Len() > m.maxKeys {
		m.remove(m.lru.Back())
	}
	return e
}

func (m *Memory) remove(el *list.Element) {
	m.lru.Remove(el)
	delete(m.entries, el.Value.(*memEntry).key)
}

// sweep drops every bucket that is full again at now.
func (m *Memory) sweep(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for el := m.lru.Back(); el != nil; {
		prev := el.Prev()
		if !now.Before(el.Value.(*memEntry).fullAt) {
			m.remove(el)
		}
		el = prev
	}
}

func (m *Memory) sweepLoop(every time.Duration) {
	defer close(m.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.sweep(m.now())
		}
	}
}

// size is the number of keys currently held.
func (m *Memory) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}
