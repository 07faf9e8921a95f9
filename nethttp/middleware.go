package orymfa

import (
	"context"
	"net/http"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// RequireSession lets a request through with any session Ory accepts for whoami.
// It panics at setup when the configuration is invalid (e.g. ORY_SDK_URL unset).
func RequireSession(opts ...Option) func(http.Handler) http.Handler {
	return guard(core.RequireSession, opts)
}

// RequireAAL2 lets a request through only with an aal2 session (and, with [WithMaxAge], a
// recently proven second factor). It panics at setup when the configuration is invalid.
func RequireAAL2(opts ...Option) func(http.Handler) http.Handler {
	return guard(core.RequireAAL2, opts)
}

func guard(require core.Requirement, opts []Option) func(http.Handler) http.Handler {
	o := collect(opts)
	return middleware(core.MustGuard(require, o.guard...), o)
}

// SessionFromContext returns the session verified for this request.
func SessionFromContext(ctx context.Context) (*ory.Session, bool) {
	return core.SessionFromContext(ctx)
}

func middleware(g *core.Guard, o options) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req := core.RequestFromHTTP(r)
			d := g.Check(r.Context(), &req)
			if d.Allowed() {
				if !d.FromContext {
					r = r.WithContext(d.Context(r.Context()))
				}
				next.ServeHTTP(w, r)
				return
			}
			denial := d // a copy, so d itself stays on the stack on the allowed path
			if o.deny != nil {
				o.deny(w, r, &denial)
				return
			}
			WriteDecision(w, &denial)
		})
	}
}

// WriteDecision writes a denial's default response: status, headers and body as the core
// built them.
func WriteDecision(w http.ResponseWriter, d *Decision) {
	h := w.Header()
	for k, v := range d.Header {
		h[k] = v
	}
	w.WriteHeader(d.Status)
	_, _ = w.Write(d.Body)
}
