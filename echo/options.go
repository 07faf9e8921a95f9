package orymfa

import (
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/orymfa/orymfa/core"
)

// Option configures a guard of this package. It is a type of its own, so that an option of
// another adapter does not compile here.
type Option func(*options)

type options struct {
	guard   []core.Option
	deny    DenyHandler
	skipper middleware.Skipper
}

func collect(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

func guardOption(o core.Option) Option { return func(s *options) { s.guard = append(s.guard, o) } }

// DenyHandler renders a denial instead of [DefaultDenyHandler], like echo-jwt's ErrorHandler.
// The decision carries the outcome, the Ory URL that resolves it and the default response.
// Its error, if any, goes to the app's HTTPErrorHandler. The route's handler never runs.
type DenyHandler func(c echo.Context, d *Decision) error

// WithMaxAge demands a recent authentication: for RequireSession, authenticated_at (the last
// sign-in) within d; for RequireAAL2, the newest second factor within d. An older one is sent
// to re-authenticate: login with refresh=true, plus aal=aal2 for RequireAAL2.
func WithMaxAge(d time.Duration) Option { return guardOption(core.WithMaxAge(d)) }

// WithVerifier uses an explicitly configured verifier (see [New]) instead of ORY_SDK_URL.
func WithVerifier(v *Verifier) Option { return guardOption(core.WithVerifier(v)) }

// WithMode forces [ModeBrowser] (redirects) or [ModeAPI] (JSON) for a route.
func WithMode(m Mode) Option { return guardOption(core.WithMode(m)) }

// WithDenyHandler renders denials with h instead of [DefaultDenyHandler].
func WithDenyHandler(h DenyHandler) Option { return func(o *options) { o.deny = h } }

// WithSkipper skips the guard for requests where skipper returns true, echo's Skipper
// convention (as in echo-jwt). A skipped request has no session.
func WithSkipper(skipper middleware.Skipper) Option { return func(o *options) { o.skipper = skipper } }
