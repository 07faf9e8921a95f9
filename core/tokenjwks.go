package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// maxJWKSBytes caps a fetched key set: real ones are a few kilobytes.
const maxJWKSBytes = 1 << 20

// remoteKeys is a public JWK Set fetched from a URL: once on the first token, and again when a
// token names a kid the set lacks (a key rotation), at most once per interval however many
// such tokens arrive, and once for all concurrent requests.
type remoteKeys struct {
	v      *Verifier
	url    string
	every  int64 // nanoseconds between fetches
	client *http.Client

	set   atomic.Pointer[keySet]
	mu    sync.Mutex
	last  int64 // when the last fetch started (Unix nanoseconds; 0: never)
	calls singleflight.Group
}

func newRemoteKeys(v *Verifier, url string, every time.Duration) *remoteKeys {
	return &remoteKeys{
		v: v, url: url, every: int64(every),
		client: &http.Client{
			Timeout: v.timeout,
			// A key set is where it is configured to be: a redirect is a misconfiguration or
			// an attack, not something to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

func (r *remoteKeys) current() *keySet { return r.set.Load() }

// load fetches the set if none was fetched yet (or the last fetch failed, at most once per
// interval). A failure is Ory-side trouble for the client: 503, not 401.
func (r *remoteKeys) load(ctx context.Context) (*keySet, error) {
	if ks, _ := r.fetch(ctx, true); ks != nil {
		return ks, nil
	}
	return nil, &UnavailableError{Status: http.StatusServiceUnavailable, Reason: "the JWKS could not be fetched"}
}

// refresh fetches the set again for a token whose kid is unknown, unless a fetch started less
// than an interval ago, and reports whether the new set holds kid.
func (r *remoteKeys) refresh(ctx context.Context, kid string) (*keySet, bool) {
	ks, fetched := r.fetch(ctx, false)
	if !fetched || ks == nil {
		return nil, false
	}
	_, ok := ks.byKID[kid]
	return ks, ok
}

// fetch runs one shared fetch if the interval allows (always when first and nothing is held),
// and returns the set held afterwards and whether a fetch ran.
func (r *remoteKeys) fetch(ctx context.Context, first bool) (*keySet, bool) {
	now := r.v.tokenNow()
	r.mu.Lock()
	due := r.last == 0 || now-r.last >= r.every
	if first && r.set.Load() != nil {
		due = false
	}
	if due {
		r.last = now
	}
	r.mu.Unlock()
	if !due {
		return r.set.Load(), false
	}
	ch := r.calls.DoChan("jwks", func() (any, error) {
		// The fetch belongs to every waiting request: one leaving must not cancel it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.v.timeout)
		defer cancel()
		ks, err := r.get(fctx)
		if err != nil {
			r.v.report(ctx, err)
			return nil, err
		}
		r.set.Store(ks)
		return ks, nil
	})
	select {
	case res := <-ch:
		ks, _ := res.Val.(*keySet)
		if ks == nil {
			return r.set.Load(), true
		}
		return ks, true
	case <-ctx.Done():
		return r.set.Load(), false
	}
}

func (r *remoteKeys) get(ctx context.Context) (*keySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, &UnavailableError{Status: http.StatusServiceUnavailable, Reason: "the JWKS could not be fetched", Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &UnavailableError{Status: http.StatusBadGateway, Reason: "the JWKS URL did not answer 200", OryStatus: resp.StatusCode}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, &UnavailableError{Status: http.StatusBadGateway, Reason: "the JWKS could not be read", Err: err}
	}
	if len(b) > maxJWKSBytes {
		return nil, badGateway("the JWKS is too large", errors.New("over 1 MiB"))
	}
	ks, err := parseJWKS(b)
	if err != nil {
		return nil, badGateway("the JWKS is not a usable public key set", fmt.Errorf("%w", err))
	}
	return ks, nil
}
