package orymfa

import (
	"context"
	"net/http"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	nethttp "github.com/orymfa/orymfa/nethttp"
)

// RequireSession is middleware for r.Use / r.With that lets a request through with any session
// Ory accepts. It panics at setup when the configuration is invalid (e.g. ORY_SDK_URL unset).
func RequireSession(opts ...Option) func(http.Handler) http.Handler {
	return guard(core.RequireSession, opts)
}

// RequireAAL2 is middleware for r.Use / r.With that demands an aal2 session (and, with
// [WithMaxAge], a recently proven second factor). It panics at setup when the configuration
// is invalid.
func RequireAAL2(opts ...Option) func(http.Handler) http.Handler {
	return guard(core.RequireAAL2, opts)
}

func guard(require core.Requirement, opts []Option) func(http.Handler) http.Handler {
	o := collect(opts)
	return nethttp.Middleware(core.MustGuard(require, o.guard...), nethttp.WithDenyHandler(o.deny))
}

// Middleware turns a guard built with core.NewGuard (which returns configuration errors
// instead of panicking) into chi middleware. opts may hold WithDenyHandler; the guard's own
// settings belong to core.NewGuard, and passing them here panics.
func Middleware(g *core.Guard, opts ...Option) func(http.Handler) http.Handler {
	o := collect(opts)
	if len(o.guard) > 0 {
		panic("orymfa: WithMaxAge, WithVerifier and WithMode configure the guard: pass them to core.NewGuard, not to Middleware")
	}
	return nethttp.Middleware(g, nethttp.WithDenyHandler(o.deny))
}

// SessionFromContext returns the session verified for this request.
func SessionFromContext(ctx context.Context) (*ory.Session, bool) {
	return core.SessionFromContext(ctx)
}

// WriteDecision writes a denial's default response: status, headers and body as the core
// built them.
func WriteDecision(w http.ResponseWriter, d *Decision) { nethttp.WriteDecision(w, d) }
