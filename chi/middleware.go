package orymfa

import (
	"context"
	"net/http"

	ory "github.com/ory/client-go"

	nethttp "github.com/orymfa/orymfa/nethttp"
)

// RequireSession is middleware for r.Use / r.With that lets a request through with any session
// Ory accepts. It panics at setup when the configuration is invalid (e.g. ORY_SDK_URL unset).
func RequireSession(opts ...Option) func(http.Handler) http.Handler {
	return nethttp.RequireSession(opts...)
}

// RequireAAL2 is middleware for r.Use / r.With that demands an aal2 session (and, with
// [WithMaxAge], a recently proven second factor). It panics at setup when the configuration
// is invalid.
func RequireAAL2(opts ...Option) func(http.Handler) http.Handler {
	return nethttp.RequireAAL2(opts...)
}

// SessionFromContext returns the session verified for this request.
func SessionFromContext(ctx context.Context) (*ory.Session, bool) {
	return nethttp.SessionFromContext(ctx)
}

// WriteDecision writes a denial's default response: status, headers and body as the core
// built them.
func WriteDecision(w http.ResponseWriter, d *Decision) { nethttp.WriteDecision(w, d) }
