package token

import "sync"

// verifiedCacheSize bounds the verified-token cache. Only tokens whose
// signature verified are stored, so its entries are tokens this service
// issued; at a few hundred bytes each the bound is about 4 MB.
const verifiedCacheSize = 8192

// verifiedCache remembers the claims of tokens whose signature and claims
// verified, keyed by the exact token text, so a client that sends the same
// token on every request pays for the Ed25519 check once. The time window
// (exp, nbf) is still checked on every use.
type verifiedCache struct {
	mu sync.RWMutex
	m  map[string]Claims
}

func (c *verifiedCache) get(token string) (Claims, bool) {
	c.mu.RLock()
	cl, ok := c.m[token]
	c.mu.RUnlock()
	return cl, ok
}

func (c *verifiedCache) put(token string, cl Claims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= verifiedCacheSize {
		// Starting over is cheaper than tracking recency, and the next
		// request of each client refills its entry.
		c.m = make(map[string]Claims, 256)
	}
	c.m[token] = cl
}
