package core

import (
	"context"

	ory "github.com/ory/client-go"
)

// The few places JWT mode meets the core's internals (the clock, the grant the policy reads,
// the policy, the context), kept together so that a change to one of them is an edit here.

// tokenNow is the wall clock in Unix nanoseconds: a JWT's times are wall-clock times.
func (v *Verifier) tokenNow() int64 { return v.nanos() }

// newTokenGrant is the grant the policy reads for a verified token's session. The token's
// cache key and its expiry (wall) are passed for a core whose grants record what they were
// issued for and until when; this one's do not.
func (v *Verifier) newTokenGrant(s *ory.Session, aal int8, authenticatedAt, secondFactorAt int64, _ tokenHash, _ int64) *grant {
	return &grant{session: s, by: v, aal: aal, authenticatedAt: authenticatedAt, secondFactorAt: secondFactorAt}
}

// evaluateToken applies the route's policy to a token's grant at now (tokenNow).
func (g *Guard) evaluateToken(gr *grant, now int64) (Outcome, error) { return g.evaluate(gr, now) }

// tokenGrantFromContext is the grant an earlier guard of v stored in ctx for this request.
// The token's cache key and now (tokenNow) are passed for a core that ties a context grant to
// its credential and its validity; this one does not.
func (v *Verifier) tokenGrantFromContext(ctx context.Context, _ tokenHash, _ int64) *grant {
	gr, _ := v.grantFromContext(ctx)
	return gr
}
