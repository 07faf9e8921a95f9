package core

import (
	"time"
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

// String names the requirement for logs and metrics ("session", "aal2").
func (r Requirement) String() string {
	if r == RequireAAL2 {
		return "aal2"
	}
	return "session"
}

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

// Option configures a guard built with [NewGuard]. Adapters have option types of their own
// (so that one adapter's options do not compile with another's guards) built on these.
type Option func(*guardOptions)

type guardOptions struct {
	verifier *Verifier
	maxAge   time.Duration
	mode     Mode
}

// WithMaxAge demands that the factor the route measures was proven within d, else the user
// is sent to re-authenticate (refresh=true). For RequireSession that is authenticated_at, the
// session's last authentication; for RequireAAL2 it is the newest second factor (an aal2
// method's completed_at), and the refresh asks for it (refresh=true&aal=aal2). A d under a
// second is refused at setup as a unit left out (WithMaxAge(5) is 5 ns).
func WithMaxAge(d time.Duration) Option { return func(o *guardOptions) { o.maxAge = d } }

// WithVerifier uses v instead of the default Verifier built from ORY_SDK_URL.
func WithVerifier(v *Verifier) Option { return func(o *guardOptions) { o.verifier = v } }

// WithMode forces browser redirects or API JSON for a route instead of [ModeAuto].
func WithMode(m Mode) Option { return func(o *guardOptions) { o.mode = m } }

// evaluate applies the route's requirement to a verified session at now. It returns Allow, or
// the outcome that would satisfy the route and the error that says why.
func (g *Guard) evaluate(s *grant, now instant) (Outcome, error) {
	if g.require == RequireAAL2 && s.aal < 2 {
		switch g.v.enforce {
		case LaxStepUp:
			return StepUp, ErrAAL2Required
		case LaxEnroll:
			// On a Lax project a 200 with aal1 does not tell whether the user has a second
			// factor: the app chose to send users to settings, and the error claims no more
			// than that aal2 is required.
			return Enroll, ErrAAL2Required
		}
		// Strict: whoami said 200 with aal1, so the identity has no second factor to prove.
		return Enroll, ErrNoSecondFactor
	}
	if g.maxAge > 0 {
		proven := s.authenticatedAt
		if g.require == RequireAAL2 {
			proven = s.secondFactorAt
		}
		if proven == 0 || now.wall-proven > int64(g.maxAge) {
			return Refresh, ErrRefreshRequired
		}
	}
	return Allow, nil
}
