package core

import (
	"encoding/base64"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"

	"github.com/elastic/go-freelru"
)

// tokenCache holds verified JWTs under a keyed 128-bit hash of the token (see credKey for why
// 128 bits), each until the token expires: an ES256 verification costs a few hundred
// microseconds, a hit a few nanoseconds. Entries hold no token text. The cache shares the
// session cache's settings: Cache.MaxEntries bounds it, Cache.Disabled turns it off.
type tokenCache struct {
	disabled bool
	size     uint32
	init     sync.Once
	lru      atomic.Pointer[freelru.ShardedLRU[tokenHash, tokenEntry]]
}

// tokenEntry is a verified token's grant and when it runs out (Unix nanoseconds, wall).
type tokenEntry struct {
	g     *grant
	until int64
}

type tokenHash struct{ hi, lo uint64 }

var tokenSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func newTokenCache(cfg CacheConfig) (*tokenCache, error) {
	if cfg.MaxEntries < 0 {
		return nil, fmt.Errorf("%w: Cache.MaxEntries must not be negative", ErrConfig)
	}
	return &tokenCache{
		disabled: cfg.Disabled,
		size:     uint32(min(cmpOr(cfg.MaxEntries, defaultCacheEntries), math.MaxUint32/2)),
	}, nil
}

// key hashes the whole token once and its signature (the part after the last dot) again:
// two independent keyed 64-bit hashes, as credKey has, for half the work on a kilobyte
// token. Tokens that share a signature but not their text (a forgery reusing a real
// signature) still differ in the first hash, whose seed nobody outside knows.
func (c *tokenCache) key(tok, signature string) tokenHash {
	return tokenHash{maphash.String(tokenSeeds[0], tok), maphash.String(tokenSeeds[1], signature)}
}

// get returns the grant of a token verified before, unless it has expired at now.
func (c *tokenCache) get(k tokenHash, now int64) (*grant, bool) {
	lru := c.lru.Load()
	if lru == nil {
		return nil, false
	}
	e, ok := lru.Get(k)
	if ok && now >= e.until {
		lru.Remove(k)
		return nil, false
	}
	return e.g, ok
}

func (c *tokenCache) put(k tokenHash, g *grant, until int64) {
	if c.disabled {
		return
	}
	c.init.Do(func() {
		lru, err := freelru.NewSharded[tokenHash, tokenEntry](c.size, func(k tokenHash) uint32 { return uint32(k.lo) })
		if err != nil {
			panic(err) // the size is checked in newTokenCache
		}
		c.lru.Store(lru)
	})
	c.lru.Load().Add(k, tokenEntry{g: g, until: until})
}

func (c *tokenCache) len() int {
	if lru := c.lru.Load(); lru != nil {
		return lru.Len()
	}
	return 0
}

// forgetList holds the sessions whose tokens this verifier refuses until the tokens they may
// have expire: a denylist bounded by MaxTTL, for apps that end sessions themselves.
type forgetList struct {
	n  atomic.Int32 // entries, read first so the usual empty list costs one load
	mu sync.Mutex
	m  map[string]int64 // session id → Unix nanoseconds until which its tokens are refused
}

// add refuses the tokens of session id until until (Unix nanoseconds), and drops entries that
// have run out at now.
func (f *forgetList) add(id string, until, now int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]int64{}
	}
	for k, u := range f.m {
		if u <= now {
			delete(f.m, k)
		}
	}
	f.m[id] = max(f.m[id], until)
	f.n.Store(int32(len(f.m)))
}

func (f *forgetList) has(id string, now int64) bool {
	if f.n.Load() == 0 {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.m[id]
	return ok && now < u
}

// forgetTokens makes this verifier refuse every JWT of Ory session id until any token minted
// before now has expired (MaxTTL plus the leeway). It does nothing outside JWT mode.
func (v *Verifier) forgetTokens(id string) {
	if v.tokens == nil {
		return
	}
	now := v.tokenNow()
	v.tokens.forgets.add(id, now+v.tokens.maxTTL+int64(tokenLeeway), now)
}

// CachedTokens is the number of cached verified JWTs (for tests and metrics).
func (v *Verifier) CachedTokens() int {
	if v.tokens == nil {
		return 0
	}
	return v.tokens.cache.len()
}

// base64URL decodes unpadded base64url, as JWS uses.
func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
