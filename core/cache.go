package core

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-freelru"
	ory "github.com/ory/client-go"
)

// CacheConfig configures the session cache. The zero value is the default: on, 10 s, 10,000
// sessions. The trade-off: a session revoked in Ory may still pass for up to TTL, counted
// from when the whoami call that verified it was sent; an app that runs the logout itself
// can drop the session at once with [Verifier.ForgetSession].
type CacheConfig struct {
	// Disabled turns the cache off: every request asks Ory (concurrent requests with the same
	// credential still share one call).
	Disabled bool
	// TTL is how long a verified session is reused (default 10 s), counted from when the
	// whoami call was sent. An entry never outlives the session's expires_at either.
	TTL time.Duration
	// MaxEntries bounds the cache; the least recently used session is evicted (default 10,000).
	MaxEntries int
}

const (
	defaultCacheTTL     = 10 * time.Second
	defaultCacheEntries = 10_000
)

// grant is a session Ory verified, with what the policy reads precomputed, so that a request
// served from the cache compares a few integers instead of walking the session. Ory's times
// are wall-clock Unix nanoseconds (0: unknown), which keeps the entry free of pointers but the
// session's; the cache's own deadline is on the monotonic clock (see instant).
type grant struct {
	session         *ory.Session
	by              *Verifier // who verified it: a context session is reused only by the same verifier
	key             credKey   // for which credential: a context session is reused only for the same one
	cachedUntil     int64     // monotonic: the cache may serve it until then (sent + TTL)
	expiresAt       int64     // wall: the session's expires_at
	aal             int8
	authenticatedAt int64 // authenticated_at: when the last factor was proven
	secondFactorAt  int64 // the newest completion of an aal2 (or stronger) method
}

// newGrant precomputes a verified session's policy facts.
func (v *Verifier) newGrant(s *ory.Session, key credKey, sent instant, ttl time.Duration) *grant {
	g := &grant{session: s, by: v, key: key, aal: aalRank(s.AuthenticatorAssuranceLevel), cachedUntil: math.MaxInt64, expiresAt: math.MaxInt64}
	if ttl > 0 {
		g.cachedUntil = sent.mono + int64(ttl)
	}
	if s.ExpiresAt != nil {
		g.expiresAt = s.ExpiresAt.UnixNano()
	}
	if s.AuthenticatedAt != nil {
		g.authenticatedAt = s.AuthenticatedAt.UnixNano()
	}
	for _, m := range s.AuthenticationMethods {
		if aalRank(m.Aal) >= 2 && m.CompletedAt != nil {
			g.secondFactorAt = max(g.secondFactorAt, m.CompletedAt.UnixNano())
		}
	}
	return g
}

// validAt reports whether the grant may still be used at now: within the cache's TTL and
// before the session expires.
func (g *grant) validAt(now instant) bool { return now.mono < g.cachedUntil && now.wall < g.expiresAt }

// sessionCache holds grants under a keyed hash of their credential. Only grants are cached:
// errors, "no session" and "step up" answers always go back to Ory. It runs no goroutine
// (expired entries are dropped when met), and allocates its table on first use, so a verifier
// that never caches costs nothing.
type sessionCache struct {
	ttl      time.Duration // 0: disabled
	size     uint32
	observer Observer

	init    sync.Once
	lru     atomic.Pointer[freelru.ShardedLRU[credKey, *grant]]
	evicted atomic.Int64 // evictions not told to the observer yet (see tellEvictions)

	// Sessions dropped with ForgetSession (forget.go): id → when (monotonic), for one TTL.
	// put holds forgetMu for reading while it checks and adds, forget for writing.
	forgetMu  sync.RWMutex
	forgotten map[string]int64
	pruneAt   int64 // when forgotten is next pruned
}

func newSessionCache(cfg CacheConfig, now func() time.Time, obs Observer) (*sessionCache, error) {
	if cfg.TTL < 0 || cfg.MaxEntries < 0 {
		return nil, fmt.Errorf("%w: Cache.TTL and Cache.MaxEntries must not be negative", ErrConfig)
	}
	c := &sessionCache{observer: obs}
	if cfg.Disabled {
		return c, nil
	}
	c.ttl = cmpOr(cfg.TTL, defaultCacheTTL)
	c.size = uint32(min(cmpOr(cfg.MaxEntries, defaultCacheEntries), math.MaxUint32/2))
	return c, nil
}

// get returns the cached grant for key unless it has run out at now, and tells the observer
// whether it was a hit.
func (c *sessionCache) get(key credKey, now instant) (*grant, bool) {
	g, ok := c.peek(key, now)
	if c.ttl > 0 && c.observer != nil {
		c.observer.CacheLookup(ok)
	}
	return g, ok
}

// peek is get without telling the observer.
func (c *sessionCache) peek(key credKey, now instant) (*grant, bool) {
	if c.ttl == 0 {
		return nil, false
	}
	var (
		g  *grant
		ok bool
	)
	if lru := c.lru.Load(); lru != nil {
		if g, ok = lru.Get(key); ok && !g.validAt(now) {
			lru.Remove(key)
			c.tellEvictions()
			ok = false
		}
	}
	if !ok {
		return nil, false
	}
	return g, true
}

// put caches g under key, unless its session was forgotten since the call that verified it
// was sent.
func (c *sessionCache) put(key credKey, g *grant) {
	if c.ttl == 0 {
		return
	}
	c.init.Do(func() {
		lru, err := freelru.NewSharded[credKey, *grant](c.size, credKey.hash32)
		if err != nil {
			panic(err) // the size is checked in newSessionCache
		}
		if c.observer != nil {
			// Called under freelru's lock: only counted here, told after it is released.
			lru.SetOnEvict(func(credKey, *grant) { c.evicted.Add(1) })
		}
		c.lru.Store(lru)
	})
	sent := g.cachedUntil - int64(c.ttl) // see newGrant
	c.forgetMu.RLock()
	if !c.forgottenSince(g.session.Id, sent) {
		c.lru.Load().Add(key, g)
	}
	c.forgetMu.RUnlock()
	c.tellEvictions()
}

// tellEvictions tells the observer about the evictions counted so far, after freelru has
// released its lock: user code never runs under one (freelru unlocks without defer, so a
// panic in its eviction callback would leave a shard locked for good).
func (c *sessionCache) tellEvictions() {
	if c.observer == nil {
		return
	}
	for n := c.evicted.Swap(0); n > 0; n-- {
		c.observer.CacheEvicted()
	}
}

// len is the number of cached sessions.
func (c *sessionCache) len() int {
	if lru := c.lru.Load(); lru != nil {
		return lru.Len()
	}
	return 0
}

// CachedSessions is the number of cached sessions (for tests and metrics).
func (v *Verifier) CachedSessions() int { return v.cache.len() }
