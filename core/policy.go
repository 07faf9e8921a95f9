package core

import (
	"time"

	ory "github.com/ory/client-go"
)

// Requirement is what a route demands of the session.
type Requirement int

const (
	// RequireSession accepts any session Ory accepts for whoami. On a Strict project Ory
	// itself already demands aal2 from users who have a second factor.
	RequireSession Requirement = iota
	// RequireAAL2 demands aal2, enforced locally, so it also holds on Lax projects.
	RequireAAL2
)

// Mode chooses how denials are rendered.
type Mode int

const (
	// ModeAuto answers requests that carry a session token, or do not accept text/html, with
	// JSON, and browser navigations with a redirect.
	ModeAuto Mode = iota
	// ModeBrowser always redirects.
	ModeBrowser
	// ModeAPI always answers JSON.
	ModeAPI
)

// Option configures a guard. Every adapter re-exports the common ones.
type Option func(*guardOptions)

type guardOptions struct {
	verifier *Verifier
	maxAge   time.Duration
	mode     Mode
	adapter  []any
}

// WithMaxAge demands that the second factor (for RequireAAL2) or the last authentication (for
// RequireSession) was proven within d; an older one is sent to re-authenticate
// (refresh=true&aal=aal2).
func WithMaxAge(d time.Duration) Option { return func(o *guardOptions) { o.maxAge = d } }

// WithVerifier uses v instead of the default Verifier built from ORY_SDK_URL.
func WithVerifier(v *Verifier) Option { return func(o *guardOptions) { o.verifier = v } }

// WithMode forces browser redirects or API JSON for a route instead of [ModeAuto].
func WithMode(m Mode) Option { return func(o *guardOptions) { o.mode = m } }

// WithAdapterOption carries an adapter-specific setting (a typed deny handler, fiber's Next,
// echo's Skipper) through the core to the adapter, which reads it with [AdapterOption]. The
// core never looks at it. Each adapter exports typed options built on this.
func WithAdapterOption(v any) Option {
	return func(o *guardOptions) { o.adapter = append(o.adapter, v) }
}

// AdapterOption returns the last adapter option of type T given to the guard.
func AdapterOption[T any](g *Guard) (T, bool) {
	for i := len(g.adapter) - 1; i >= 0; i-- {
		if v, ok := g.adapter[i].(T); ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// evaluate applies the route's requirement to a verified session. It returns Allow or the
// outcome that would satisfy the route.
func (g *Guard) evaluate(s *ory.Session, now time.Time) Outcome {
	if g.require == RequireAAL2 && aalRank(s.AuthenticatorAssuranceLevel) < 2 {
		if g.v.enforce == LaxStepUp {
			return StepUp
		}
		// Strict: whoami said 200 with aal1, so the identity has no second factor to prove;
		// on LaxEnroll the app chose to send users to settings.
		return Enroll
	}
	if g.maxAge > 0 {
		proven := lastAuthenticated(s, g.require == RequireAAL2)
		if proven.IsZero() || now.Sub(proven) > g.maxAge {
			return Refresh
		}
	}
	return Allow
}

// lastAuthenticated is when the session's factors were last proven: for secondFactor, the
// newest completion of an aal2 (or stronger) method; otherwise authenticated_at.
func lastAuthenticated(s *ory.Session, secondFactor bool) time.Time {
	if !secondFactor {
		if s.AuthenticatedAt != nil {
			return *s.AuthenticatedAt
		}
		return time.Time{}
	}
	var newest time.Time
	for _, m := range s.AuthenticationMethods {
		if aalRank(m.Aal) >= 2 && m.CompletedAt != nil && m.CompletedAt.After(newest) {
			newest = *m.CompletedAt
		}
	}
	return newest
}
