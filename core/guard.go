package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	ory "github.com/ory/client-go"
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
// ctx (see [Decision.Context]) is used without asking Ory again, unless it falls short and
// came from the cache: a denial never rests on a cached session, so Ory is asked first.
func (g *Guard) Check(ctx context.Context, r *Request) Decision {
	obs := g.v.observer
	if obs == nil {
		return g.check(ctx, r)
	}
	start := time.Now()
	ctx = obs.StartCheck(ctx)
	d := g.check(ctx, r)
	e := CheckEvent{Outcome: d.Outcome, Requirement: g.require, FromContext: d.FromContext, Cached: d.grant != nil && !d.fresh, Err: d.Err}
	if d.Session != nil {
		e.AAL = string(d.Session.GetAuthenticatorAssuranceLevel())
	}
	e.Duration = time.Since(start)
	obs.EndCheck(ctx, e)
	return d
}

func (g *Guard) check(ctx context.Context, r *Request) Decision {
	now := g.v.nanos() // once per check: reading the clock is a visible part of the cached path
	if gr, fresh := g.v.grantFromContext(ctx); gr != nil {
		out := g.evaluate(gr, now)
		if out == Allow || fresh {
			return g.decide(r, gr, out, fresh, true)
		}
		return g.recheck(ctx, r, g.v.names.extract(r))
	}
	cred := g.v.names.extract(r)
	if cred.isZero() {
		return g.denyError(r, ErrNoSession)
	}
	key := cred.key()
	if gr, ok := g.v.cache.get(key, now); ok {
		if g.evaluate(gr, now) == Allow {
			return Decision{Outcome: Allow, Session: gr.session, grant: gr}
		}
		// The user may have just stepped up on this very session token: ask Ory.
		return g.recheck(ctx, r, cred)
	}
	gr, cached, err := g.v.fetch(ctx, cred, key, false)
	if err != nil {
		return g.denyError(r, err)
	}
	if out := g.evaluate(gr, g.v.nanos()); out == Allow || !cached {
		return g.decide(r, gr, out, !cached, false)
	}
	return g.recheck(ctx, r, cred) // another request cached it just now
}

// recheck asks Ory, bypassing the cache, before denying on a session that came from it.
func (g *Guard) recheck(ctx context.Context, r *Request, cred credential) Decision {
	if cred.isZero() {
		return g.denyError(r, ErrNoSession)
	}
	gr, _, err := g.v.fetch(ctx, cred, cred.key(), true)
	if err != nil {
		return g.denyError(r, err)
	}
	return g.decide(r, gr, g.evaluate(gr, g.v.nanos()), true, false)
}

// decide turns a verified session and its evaluation into a decision.
func (g *Guard) decide(r *Request, gr *grant, out Outcome, fresh, fromContext bool) Decision {
	if out == Allow {
		return Decision{Outcome: Allow, Session: gr.session, FromContext: fromContext, grant: gr, fresh: fresh}
	}
	var cause error
	switch out {
	case Enroll:
		cause = ErrNoSecondFactor
		if g.v.enforce == LaxEnroll {
			cause = ErrAAL2Required
		}
	case StepUp:
		cause = ErrAAL2Required
	default:
		cause = ErrRefreshRequired
	}
	d := g.deny(r, out, cause)
	d.Session = gr.session
	return d
}

// denyError turns an error from fetching the session into a denial.
func (g *Guard) denyError(r *Request, err error) Decision {
	switch {
	case errors.Is(err, ErrNoSession):
		return g.deny(r, Login, err)
	case errors.Is(err, ErrAAL2Required):
		return g.deny(r, StepUp, err)
	}
	return g.deny(r, Unavailable, err)
}

// fetch returns the session for cred from Ory, sharing the call with concurrent requests for
// the same credential. Unless fresh, the shared call first looks in the cache again (cached
// then reports it), so that N concurrent first requests make one whoami call even when one
// of them misses the cache just as another fills it.
func (v *Verifier) fetch(ctx context.Context, cred credential, key credKey, fresh bool) (_ *grant, cached bool, _ error) {
	clean, ok := cred.sanitized()
	if !ok {
		return nil, false, ErrNoSession // malformed: never sent to Ory
	}
	// The shared call may outlive this request (other requests wait on it), and an adapter's
	// strings may alias buffers reused after the request (fasthttp): keep a copy. Only cache
	// misses pay for it.
	clean = credential{token: strings.Clone(clean.token), cookie: strings.Clone(clean.cookie)}
	return v.calls.do(ctx, key.callKey(fresh), v.report, func(ctx context.Context, waiters func() int) (*grant, bool, error) {
		if !fresh {
			// Not a lookup of its own for the observer: this request's miss was counted.
			if g, ok := v.cache.peek(key, v.nanos()); ok {
				return g, true, nil
			}
		}
		g, err := v.ask(ctx, clean, waiters)
		if err == nil {
			v.cache.put(key, g)
		}
		return g, false, err
	})
}

// ask makes one whoami call, tells the observer (also when the call panics: the panic goes on
// to the shared call, which recovers it), and reports failures.
func (v *Verifier) ask(ctx context.Context, cred credential, waiters func() int) (g *grant, err error) {
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
	var s *ory.Session
	s, status, err = v.whoami(ctx, cred)
	return v.verified(ctx, s, err)
}

// verified turns a whoami result into a grant, or reports the failure.
func (v *Verifier) verified(ctx context.Context, s *ory.Session, err error) (*grant, error) {
	if err != nil {
		if unavailable(err) != nil && ctx.Err() != context.Canceled {
			v.report(ctx, err)
		}
		return nil, err
	}
	compact(s)
	return v.newGrant(s, v.now(), v.cache.ttl), nil
}

// unavailable returns the *UnavailableError in err's chain, or nil.
func unavailable(err error) *UnavailableError {
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return ue
	}
	return nil
}
