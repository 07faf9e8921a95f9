package core

import (
	"context"
	"math"

	ory "github.com/ory/client-go"
)

// The few places JWT mode meets the core's internals (the clock, the grant the policy reads,
// the policy, the context), kept together so that a change to one of them is an edit here.

// tokenNow is the wall clock in Unix nanoseconds: a JWT's times are wall-clock times.
func (v *Verifier) tokenNow() int64 { return v.at().wall }

// newTokenGrant is the grant the policy reads for a verified token's session: tied to the
// token's cache key, valid until the token's exp (wall); no TTL, since the token's own
// lifetime bounds it.
func (v *Verifier) newTokenGrant(s *ory.Session, aal int8, authenticatedAt, secondFactorAt int64, key tokenHash, until int64) *grant {
	return &grant{session: s, by: v, key: credKey(key), cachedUntil: math.MaxInt64, expiresAt: until,
		aal: aal, authenticatedAt: authenticatedAt, secondFactorAt: secondFactorAt}
}

// evaluateToken applies the route's policy to a token's grant at now (tokenNow).
func (g *Guard) evaluateToken(gr *grant, now int64) (Outcome, error) {
	return g.evaluate(gr, instant{wall: now})
}

// tokenGrantFromContext is the grant an earlier guard of v stored in ctx for this token, if
// it is still valid at now (tokenNow).
func (v *Verifier) tokenGrantFromContext(ctx context.Context, key tokenHash, now int64) *grant {
	gr, _ := v.grantFromContext(ctx, credKey(key), instant{wall: now})
	return gr
}
