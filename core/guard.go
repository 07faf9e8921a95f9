package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Guard applies one route's policy. Build it once at setup with [NewGuard]; it is safe for
// concurrent use.
type Guard struct {
	v       *Verifier
	require Requirement
	maxAge  time.Duration
	mode    Mode
}

// NewGuard builds a guard for a requirement. Without [WithVerifier] it uses [Default], so a
// missing or malformed ORY_SDK_URL is reported here, at setup.
func NewGuard(require Requirement, opts ...Option) (*Guard, error) {
	var o guardOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if require != RequireSession && require != RequireAAL2 {
		return nil, fmt.Errorf("%w: unknown requirement %d", ErrConfig, require)
	}
	if o.maxAge < 0 {
		return nil, fmt.Errorf("%w: WithMaxAge(%v) must not be negative", ErrConfig, o.maxAge)
	}
	if err := tooShort("WithMaxAge", o.maxAge, time.Second, "time.Minute", ""); err != nil {
		return nil, err
	}
	if o.mode < ModeAuto || o.mode > ModeAPI {
		return nil, fmt.Errorf("%w: unknown mode %d", ErrConfig, o.mode)
	}
	if o.verifier == nil {
		v, err := Default()
		if err != nil {
			return nil, err
		}
		o.verifier = v
	}
	return &Guard{v: o.verifier, require: require, maxAge: o.maxAge, mode: o.mode}, nil
}

// MustGuard is like [NewGuard] but panics with the configuration error, for the zero-argument
// constructors of the adapters: misconfiguration shows at startup, not at the first request.
func MustGuard(require Requirement, opts ...Option) *Guard {
	g, err := NewGuard(require, opts...)
	if err != nil {
		panic(err)
	}
	return g
}

// Check decides one request. A session that an earlier guard with the same Verifier put in
// ctx (see [Decision.Context]) for the same credential is used without asking Ory again while
// it is valid (as long as the cache would serve it, and never past its expires_at), unless it
// falls short and came from the cache: a denial never rests on a cached session, so Ory is
// asked first.
//
// A panic in the Observer fails the request closed (a 502) rather than unwinding into the
// framework.
func (g *Guard) Check(ctx context.Context, r *Request) (d Decision) {
	obs := g.v.observer
	if obs == nil {
		return g.check(ctx, r)
	}
	defer g.contain(ctx, r, &d)
	start := time.Now()
	ctx = obs.StartCheck(ctx)
	d = g.check(ctx, r)
	e := CheckEvent{Outcome: d.Outcome, Requirement: g.require, FromContext: d.FromContext, Cached: d.grant != nil && !d.fresh, Err: d.Err}
	if d.Session != nil {
		e.AAL = string(d.Session.GetAuthenticatorAssuranceLevel())
	}
	e.Duration = time.Since(start)
	obs.EndCheck(ctx, e)
	return d
}

// check is Check without the observer. It reads in the order it decides: find the session,
// apply the route's policy, re-check with Ory before a denial, answer.
func (g *Guard) check(ctx context.Context, r *Request) Decision {
	v := g.v
	if v.tokens != nil {
		if jwt, sig, ok := v.tokens.bearerJWT(r); ok {
			return g.checkToken(ctx, r, jwt, sig) // a JWT is verified here, never sent to Ory
		}
	}
	now := v.at() // once on the cached path: reading the clock is a visible part of it

	// The session: the one an earlier guard of this verifier verified for this request's
	// credential, while it is valid, else the cached one, else Ory's.
	cred := v.names.extract(r)
	if cred.isZero() {
		return g.deny(r, cred.kind(), Login, ErrNoSession)
	}
	key := cred.key()
	gr, fresh := v.grantFromContext(ctx, key, now)
	fromContext := gr != nil
	if !fromContext {
		var ok bool
		if gr, ok = v.cache.get(key, now); !ok {
			var err error
			if gr, fresh, err = v.fetch(ctx, cred, key, false); err != nil {
				return g.denyError(r, cred, err)
			}
			now = v.at()
		}
	}

	out, why := g.evaluate(gr, now)
	if out != Allow {
		// A denial never rests on a session Ory did not confirm during this request: the
		// user may have just stepped up or proven a factor again on this very session token
		// (a token keeps its value, and the cache or an earlier guard still has the old
		// session). Ask Ory, past the cache, and decide on its answer.
		if !fresh {
			var err error
			if gr, _, err = v.fetch(ctx, cred, key, true); err != nil {
				return g.denyError(r, cred, err)
			}
			fresh, fromContext = true, false
			out, why = g.evaluate(gr, v.at())
		}
	}
	if out != Allow {
		d := g.deny(r, cred.kind(), out, why)
		d.Session = gr.session
		return d
	}
	return Decision{Outcome: Allow, Session: gr.session, FromContext: fromContext, grant: gr, fresh: fresh}
}

// denyError turns an error from asking Ory into a denial: no session, a step-up Ory
// demands, or Ory unavailable.
func (g *Guard) denyError(r *Request, cred credential, err error) Decision {
	out := Unavailable
	switch {
	case errors.Is(err, ErrNoSession):
		out = Login
	case errors.Is(err, ErrAAL2Required):
		out = StepUp
	}
	return g.deny(r, cred.kind(), out, err)
}
