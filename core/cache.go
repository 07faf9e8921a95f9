package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	ory "github.com/ory/client-go"
	"golang.org/x/sync/singleflight"
)

// CacheConfig configures the session cache. The zero value is the default: on, 10 s, 10,000
// sessions. The trade-off: a session revoked in Ory may still pass for up to TTL.
type CacheConfig struct {
	// Disabled turns the cache off: every request asks Ory (concurrent requests with the same
	// credential still share one call).
	Disabled bool
	// TTL is how long a verified session is reused (default 10 s). An entry never outlives
	// the session's expires_at either.
	TTL time.Duration
	// MaxEntries bounds the cache; the least recently used session is evicted (default 10,000).
	MaxEntries int
}

const (
	defaultCacheTTL     = 10 * time.Second
	defaultCacheEntries = 10_000
)

// sessionStore caches verified sessions under a hash of their credential and coalesces
// concurrent whoami calls for the same credential. Only grants are cached: errors, "no
// session" and "step up" answers always go back to Ory.
type sessionStore struct {
	lru   *expirable.LRU[[32]byte, cachedSession] // nil when disabled
	calls singleflight.Group
	now   func() time.Time
	ttl   time.Duration
}

type cachedSession struct {
	session *ory.Session
	until   time.Time // min(now+TTL, expires_at)
}

func newSessionStore(cfg CacheConfig, now func() time.Time) (*sessionStore, error) {
	st := &sessionStore{now: now, ttl: cfg.TTL}
	if cfg.Disabled {
		return st, nil
	}
	if cfg.TTL < 0 || cfg.MaxEntries < 0 {
		return nil, fmt.Errorf("%w: Cache.TTL and Cache.MaxEntries must not be negative", ErrConfig)
	}
	if st.ttl == 0 {
		st.ttl = defaultCacheTTL
	}
	size := cfg.MaxEntries
	if size == 0 {
		size = defaultCacheEntries
	}
	// The LRU's own TTL evicts idle entries in the background; get checks each entry's own
	// deadline, which may be earlier (expires_at) and follows the configured clock.
	st.lru = expirable.NewLRU[[32]byte, cachedSession](size, nil, st.ttl)
	return st, nil
}

func (st *sessionStore) get(key [32]byte, now time.Time) (*ory.Session, bool) {
	if st.lru == nil {
		return nil, false
	}
	e, ok := st.lru.Get(key)
	if !ok {
		return nil, false
	}
	if !now.Before(e.until) {
		st.lru.Remove(key)
		return nil, false
	}
	return e.session, true
}

func (st *sessionStore) put(key [32]byte, s *ory.Session) {
	if st.lru == nil {
		return
	}
	until := st.now().Add(st.ttl)
	if s.ExpiresAt != nil && s.ExpiresAt.Before(until) {
		until = *s.ExpiresAt
	}
	st.lru.Add(key, cachedSession{session: s, until: until})
}

// CachedSessions is the number of cached sessions (for tests and metrics).
func (v *Verifier) CachedSessions() int {
	if v.sessions.lru == nil {
		return 0
	}
	return v.sessions.lru.Len()
}

// session returns the verified session for cred, from the cache when possible; cached reports
// which, so a denial based on a cached session can be re-checked with Ory.
func (v *Verifier) session(ctx context.Context, cred Credential, now time.Time) (s *ory.Session, cached bool, err error) {
	if cred.IsZero() {
		return nil, false, ErrNoSession
	}
	key := cred.Key()
	if s, ok := v.sessions.get(key, now); ok {
		return s, true, nil
	}
	s, err = v.coalesced(ctx, cred, key, false)
	return s, false, err
}

// fetch asks Ory, bypassing the cache: the re-check before a denial.
func (v *Verifier) fetch(ctx context.Context, cred Credential) (*ory.Session, error) {
	return v.coalesced(ctx, cred, cred.Key(), true)
}

// coalesced asks Ory, sharing one call among concurrent callers with the same credential. The
// shared call does not inherit any one caller's cancellation (it has its own timeout), so a
// caller that goes away does not fail the others; that caller alone gets its context's error.
// Unless fresh, the call first looks in the cache again: a caller that missed the cache just
// before another call filled it must not start a second whoami. Fresh calls (re-checks) use
// their own key so they never receive a cached answer.
func (v *Verifier) coalesced(ctx context.Context, cred Credential, key [32]byte, fresh bool) (*ory.Session, error) {
	// The shared call may outlive this request (other callers wait on it), and an adapter's
	// strings may alias buffers reused after the request (fasthttp): keep a copy. Only cache
	// misses pay for it.
	cred = Credential{Token: strings.Clone(cred.Token), Cookie: strings.Clone(cred.Cookie)}
	callKey := "c" + string(key[:])
	if fresh {
		callKey = "f" + string(key[:])
	}
	ch := v.sessions.calls.DoChan(callKey, func() (any, error) {
		if !fresh {
			if s, ok := v.sessions.get(key, v.now()); ok {
				return s, nil
			}
		}
		s, err := v.whoami(context.WithoutCancel(ctx), cred)
		if err == nil {
			v.sessions.put(key, s)
		}
		return s, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*ory.Session), nil
	case <-ctx.Done():
		err := ctx.Err()
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, &UnavailableError{Status: http.StatusGatewayTimeout, Reason: "request deadline passed while waiting for whoami", Err: err}
		}
		return nil, &UnavailableError{Status: http.StatusServiceUnavailable, Reason: "request cancelled while waiting for whoami", Err: err}
	}
}
