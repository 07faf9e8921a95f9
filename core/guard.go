package core

import (
	"context"
	"errors"
	"fmt"
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
	adapter []any
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
	return &Guard{v: o.verifier, require: require, maxAge: o.maxAge, mode: o.mode, adapter: o.adapter}, nil
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

// Check decides one request. A session already in ctx (put there by an earlier guard on the
// same request) is used without asking Ory again.
func (g *Guard) Check(ctx context.Context, r *Request) Decision {
	now := g.v.now() // once per check: reading the clock is a visible part of the cached path
	if s, ok := SessionFromContext(ctx); ok {
		return g.decide(r, s, g.evaluate(s, now), false, true)
	}
	cred := g.v.names.extract(r)
	tokenUsed := cred.Token != ""
	s, cached, err := g.v.session(ctx, cred, now)
	if err != nil {
		return g.denyError(ctx, r, err, tokenUsed)
	}
	out := g.evaluate(s, now)
	if out != Allow && cached {
		// A cached session may only grant: the user may have just stepped up on this very
		// session token, so ask Ory before denying.
		if s, err = g.v.fetch(ctx, cred); err != nil {
			return g.denyError(ctx, r, err, tokenUsed)
		}
		out = g.evaluate(s, g.v.now())
	}
	return g.decide(r, s, out, tokenUsed, false)
}

func (g *Guard) decide(r *Request, s *ory.Session, out Outcome, tokenUsed, fromContext bool) Decision {
	if out == Allow {
		return Decision{Outcome: Allow, Session: s, FromContext: fromContext}
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
	d := g.deny(r, out, cause, tokenUsed)
	d.Session = s
	return d
}

func (g *Guard) denyError(ctx context.Context, r *Request, err error, tokenUsed bool) Decision {
	switch {
	case errors.Is(err, ErrNoSession):
		return g.deny(r, Login, err, tokenUsed)
	case errors.Is(err, ErrAAL2Required):
		return g.deny(r, StepUp, err, tokenUsed)
	}
	if !errors.Is(err, context.Canceled) {
		g.v.onError(ctx, err)
	}
	return g.deny(r, Unavailable, err, tokenUsed)
}

// unavailable returns the *UnavailableError in err's chain, or nil.
func unavailable(err error) *UnavailableError {
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return ue
	}
	return nil
}
