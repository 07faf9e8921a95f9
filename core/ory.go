package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core/internal/flight"
)

// fetched is what one shared whoami call hands every request waiting on it.
type fetched struct {
	grant     *grant
	confirmed bool // Ory answered during the call (not the cache, filled by another request)
}

// fetch returns cred's session from Ory, through one call shared by every concurrent request
// for the same credential (a panic in it fails them closed, and it is cancelled once they
// have all gone). Unless pastCache, the shared call first looks in the cache again, so that
// N concurrent first requests make one whoami call even when one of them misses the cache
// just as another fills it; confirmed is false when it found the session there. With
// pastCache (the re-check before a denial) it neither reads the cache nor shares a call with
// requests that do.
func (v *Verifier) fetch(ctx context.Context, cred credential, key credKey, pastCache bool) (_ *grant, confirmed bool, _ error) {
	clean, ok := cred.sanitized()
	if !ok {
		return nil, false, ErrNoSession // malformed: never sent to Ory
	}
	// The shared call may outlive this request (other requests wait on it), and an adapter's
	// strings may alias buffers reused after the request (fasthttp): keep a copy. Only cache
	// misses pay for it.
	clean = credential{token: strings.Clone(clean.token), cookie: strings.Clone(clean.cookie)}
	f, err := v.calls.Do(ctx, key.callKey(pastCache), func(ctx context.Context, waiters func() int) (fetched, error) {
		if !pastCache {
			// Not a lookup of its own for the observer: this request's miss was counted.
			if g, ok := v.cache.peek(key, v.at()); ok {
				return fetched{g, false}, nil
			}
		}
		g, err := v.ask(ctx, clean, key, waiters)
		if err == nil {
			v.cache.put(key, g)
		}
		return fetched{g, true}, err
	})
	if errors.Is(err, flight.ErrLeft) {
		return nil, false, waitError(ctx.Err())
	}
	return f.grant, f.confirmed, err
}

// ask makes one whoami call and turns a usable answer into a grant, compacted for the cache.
// It tells the observer (also when the call panics: the panic goes on to the shared call,
// which recovers it) and reports failures.
func (v *Verifier) ask(ctx context.Context, cred credential, key credKey, waiters func() int) (g *grant, err error) {
	status := 0
	if obs := v.observer; obs != nil {
		ctx = obs.StartWhoami(ctx)
		start := time.Now()
		defer func() {
			e := err
			p := recover()
			if p != nil {
				e = badGateway("panic while asking Ory", fmt.Errorf("%v", p))
			}
			obs.EndWhoami(ctx, WhoamiEvent{Status: status, Err: e, Duration: time.Since(start), Waiters: waiters()})
			if p != nil {
				panic(p)
			}
		}()
	}
	// The cache's TTL counts from now, before the call: a session revoked while Ory was
	// answering is served for at most the TTL, however slow the answer.
	sent := v.at()
	var s *ory.Session
	if s, status, err = v.whoami(ctx, cred); err != nil {
		if unavailable(err) != nil && ctx.Err() != context.Canceled {
			v.report(ctx, err)
		}
		return nil, err
	}
	// The policy's facts first, as Ory sent them: compact rewrites the session's values.
	g = v.newGrant(s, key, sent, v.cache.ttl)
	compact(s)
	return g, nil
}

// recovered turns a panic in a shared whoami call (a user's RoundTripper, say) into a 502 for
// every request waiting on it, and reports it once.
func (v *Verifier) recovered(ctx context.Context, p any) error {
	err := badGateway("panic while asking Ory", fmt.Errorf("%v", p))
	v.report(ctx, err)
	return err
}

// waitError is the error of a request whose own context ended while it waited for whoami.
func waitError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &UnavailableError{Status: http.StatusGatewayTimeout, Reason: "request deadline passed while waiting for whoami", Err: err}
	}
	return &UnavailableError{Status: http.StatusServiceUnavailable, Reason: "request cancelled while waiting for whoami", Err: err}
}
