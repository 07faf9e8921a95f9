package chi

import (
	"context"
	"net/http"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/nethttp"
)

// Option configures a guard.
type Option = core.Option

// DenyHandler renders a denial instead of the default redirect or JSON.
type DenyHandler = nethttp.DenyHandler

// RequireSession is middleware for r.Use / r.With that lets a request through with any session
// Ory accepts. It panics at setup when the configuration is invalid (e.g. ORY_SDK_URL unset).
func RequireSession(opts ...Option) func(http.Handler) http.Handler {
	return nethttp.RequireSession(opts...)
}

// RequireAAL2 is middleware for r.Use / r.With that demands an aal2 session.
func RequireAAL2(opts ...Option) func(http.Handler) http.Handler {
	return nethttp.RequireAAL2(opts...)
}

// WithMaxAge demands that the second factor was proven within d.
func WithMaxAge(d time.Duration) Option { return core.WithMaxAge(d) }

// WithVerifier uses an explicitly configured verifier (see core.New) instead of ORY_SDK_URL.
func WithVerifier(v *core.Verifier) Option { return core.WithVerifier(v) }

// WithMode forces core.ModeBrowser (redirects) or core.ModeAPI (JSON) for a route.
func WithMode(m core.Mode) Option { return core.WithMode(m) }

// WithDenyHandler renders denials with h instead of the default response.
func WithDenyHandler(h DenyHandler) Option { return nethttp.WithDenyHandler(h) }

// SessionFromContext returns the session verified for this request.
func SessionFromContext(ctx context.Context) (*ory.Session, bool) {
	return core.SessionFromContext(ctx)
}
