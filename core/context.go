package core

import (
	"context"

	ory "github.com/ory/client-go"
)

// contextKey is unexported so no other package can read or overwrite the session.
type contextKey struct{ name string }

var sessionKey = &contextKey{"orymfa.session"}

// ContextWithSession returns a copy of ctx that carries the verified session. Adapters call it;
// a later guard on the same request reuses the session instead of asking Ory again.
func ContextWithSession(ctx context.Context, s *ory.Session) context.Context {
	return context.WithValue(ctx, sessionKey, s)
}

// SessionFromContext returns the session a guard verified for this request. The session may be
// shared with other requests through the cache: treat it as read-only.
func SessionFromContext(ctx context.Context) (*ory.Session, bool) {
	if ctx == nil {
		return nil, false
	}
	s, ok := ctx.Value(sessionKey).(*ory.Session)
	return s, ok && s != nil
}
