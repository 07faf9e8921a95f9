package core

import (
	"context"

	ory "github.com/ory/client-go"
)

// contextKey is unexported so no other package can read or overwrite the session.
type contextKey struct{ name string }

var sessionKey = &contextKey{"orymfa.session"}

// The value under sessionKey says where the session came from, by its type:
//
//   - *grant: a guard verified it, but it came from the cache;
//   - *freshGrant: a guard had Ory confirm it during this request;
//   - *ory.Session: ContextWithSession put it there; no guard verified it.
//
// A later guard reuses a grant only if the same Verifier made it for the same credential and
// it is still valid, and denies on it only if it is fresh: a denial never rests on a cached
// session.
type freshGrant grant

// ContextWithSession returns a copy of ctx that carries s, so handlers find it with every
// adapter's accessor: for handler unit tests and custom middleware. A guard never trusts such
// a session: it did not verify it, so it asks Ory itself.
func ContextWithSession(ctx context.Context, s *ory.Session) context.Context {
	return context.WithValue(ctx, sessionKey, s)
}

// contextWithGrant returns ctx carrying a verified session for the handler and later guards.
func contextWithGrant(ctx context.Context, g *grant, fresh bool) context.Context {
	if fresh {
		return context.WithValue(ctx, sessionKey, (*freshGrant)(g))
	}
	return context.WithValue(ctx, sessionKey, g)
}

// SessionFromContext returns the session a guard verified for this request (or one put there
// with [ContextWithSession]). The session may be shared with other requests through the
// cache: treat it as read-only.
func SessionFromContext(ctx context.Context) (*ory.Session, bool) {
	if ctx == nil {
		return nil, false
	}
	switch v := ctx.Value(sessionKey).(type) {
	case *grant:
		return v.session, true
	case *freshGrant:
		return v.session, true
	case *ory.Session:
		return v, v != nil
	}
	return nil, false
}

// grantFromContext returns the grant an earlier guard of v stored in ctx for the credential
// key, if it is still valid at now, and whether Ory confirmed it during this request. A
// request's context may outlive the check (a websocket, a stream) or be handed to an
// in-process sub-request with other credentials: neither reuses what they were not granted.
func (v *Verifier) grantFromContext(ctx context.Context, key credKey, now instant) (g *grant, fresh bool) {
	switch val := ctx.Value(sessionKey).(type) {
	case *grant:
		g = val
	case *freshGrant:
		g, fresh = (*grant)(val), true
	}
	if g == nil || g.by != v || g.key != key || !g.validAt(now) {
		return nil, false
	}
	return g, fresh
}
