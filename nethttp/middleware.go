package nethttp

import (
	"context"
	"net/http"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// Option configures a guard.
type Option = core.Option

// DenyHandler renders a denial instead of the default redirect or JSON. The decision carries
// the outcome, the Ory URL that resolves it and the default response.
type DenyHandler func(w http.ResponseWriter, r *http.Request, d *core.Decision)

// RequireSession lets a request through with any session Ory accepts for whoami.
// It panics at setup when the configuration is invalid (e.g. ORY_SDK_URL unset).
func RequireSession(opts ...Option) func(http.Handler) http.Handler {
	return Middleware(core.MustGuard(core.RequireSession, opts...))
}

// RequireAAL2 lets a request through only with an aal2 session (and, with [WithMaxAge], a
// recently proven second factor). It panics at setup when the configuration is invalid.
func RequireAAL2(opts ...Option) func(http.Handler) http.Handler {
	return Middleware(core.MustGuard(core.RequireAAL2, opts...))
}

// WithMaxAge demands that the second factor was proven within d.
func WithMaxAge(d time.Duration) Option { return core.WithMaxAge(d) }

// WithVerifier uses an explicitly configured verifier (see core.New) instead of ORY_SDK_URL.
func WithVerifier(v *core.Verifier) Option { return core.WithVerifier(v) }

// WithMode forces core.ModeBrowser (redirects) or core.ModeAPI (JSON) for a route.
func WithMode(m core.Mode) Option { return core.WithMode(m) }

// WithDenyHandler renders denials with h instead of the default response.
func WithDenyHandler(h DenyHandler) Option { return core.WithAdapterOption(h) }

// SessionFromContext returns the session verified for this request.
func SessionFromContext(ctx context.Context) (*ory.Session, bool) {
	return core.SessionFromContext(ctx)
}

// Middleware turns a guard into net/http middleware; chi uses it too.
func Middleware(g *core.Guard) func(http.Handler) http.Handler {
	deny, _ := core.AdapterOption[DenyHandler](g)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req := core.RequestFromHTTP(r)
			d := g.Check(r.Context(), &req)
			if d.Allowed() {
				if !d.FromContext {
					r = r.WithContext(core.ContextWithSession(r.Context(), d.Session))
				}
				next.ServeHTTP(w, r)
				return
			}
			denial := d // a copy, so d itself stays on the stack on the allowed path
			if deny != nil {
				deny(w, r, &denial)
				return
			}
			WriteDecision(w, &denial)
		})
	}
}

// WriteDecision writes a denial's default response.
func WriteDecision(w http.ResponseWriter, d *core.Decision) {
	h := w.Header()
	for k, v := range d.Header {
		h[k] = v
	}
	w.WriteHeader(d.Status)
	_, _ = w.Write(d.Body)
}
