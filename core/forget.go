package core

import (
	"context"
	"fmt"
)

// ForgetSession drops every grant this verifier has cached for the Ory session id, under
// whatever credential (a session is cached once per credential: a browser's cookie, an API
// client's session token), for apps that run the logout themselves or learn of a revocation:
// the next request with any of them asks Ory. A whoami call for that session already under
// way (sent before ForgetSession) does not cache its answer. Requests already decided keep
// their decision, and a session already in a request's context stays there for that request.
// Other verifiers (other replicas) keep theirs for up to the cache's TTL.
//
// In JWT mode ([Config.Tokens]) this verifier also refuses the session's JWTs from then on,
// cached or not, until any token minted before ForgetSession has expired (MaxTTL plus a
// small leeway): a JWT names its session, and no call to Ory could tell that it was revoked.
// Other verifiers accept them until their exp.
//
// It scans the cache: a few milliseconds of CPU per 10,000 cached sessions.
func (v *Verifier) ForgetSession(id string) {
	defer func() {
		if p := recover(); p != nil { // in the Observer's CacheEvicted
			v.report(context.Background(), badGateway("panic in the Observer while forgetting a session", fmt.Errorf("%v", p)))
		}
	}()
	v.forgetTokens(id)
	v.cache.forget(id, v.at())
}

// forget drops id's grants, and keeps a grant from a whoami call sent before now from being
// cached afterwards (see put): the id is remembered as forgotten for one TTL, after which a
// grant from such a call would have run out anyway.
func (c *sessionCache) forget(id string, now instant) {
	if c.ttl == 0 {
		return
	}
	c.forgetMu.Lock()
	if now.mono >= c.pruneAt {
		for k, at := range c.forgotten {
			if now.mono-at > int64(c.ttl) {
				delete(c.forgotten, k)
			}
		}
		c.pruneAt = now.mono + int64(c.ttl)
	}
	if c.forgotten == nil {
		c.forgotten = map[string]int64{}
	}
	c.forgotten[id] = now.mono
	// Every put that missed the mark above has finished adding its grant (it holds forgetMu
	// for reading while it does): the scan below sees it.
	c.forgetMu.Unlock()
	lru := c.lru.Load()
	if lru == nil {
		return
	}
	for _, key := range lru.Keys() {
		if g, ok := lru.Peek(key); ok && g.session.Id == id {
			lru.Remove(key)
		}
	}
	c.tellEvictions()
}

// forgottenSince reports whether id was forgotten at or after a whoami call sent at sent
// (monotonic): its answer may predate the forgetting. The caller holds forgetMu.
func (c *sessionCache) forgottenSince(id string, sent int64) bool {
	at, ok := c.forgotten[id]
	return ok && sent <= at
}
