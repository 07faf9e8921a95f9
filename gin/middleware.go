package gin

import (
	"time"

	gingonic "github.com/gin-gonic/gin"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// SessionKey is the gin context key under which a guard stores the verified *ory.Session
// (c.Get(SessionKey)). Prefer [Session], which also finds a session that only the request
// context carries.
const SessionKey = "orymfa.session"

// Option configures a guard.
type Option = core.Option

// DenyHandler renders a denial instead of the default redirect or JSON. The decision carries
// the outcome, the Ory URL that resolves it and the default response ([WriteDecision] writes
// it). The chain is already aborted when it is called, so the route's handler never runs.
type DenyHandler func(c *gingonic.Context, d *core.Decision)

// RequireSession lets a request through with any session Ory accepts for whoami.
// It panics at setup when the configuration is invalid (e.g. ORY_SDK_URL unset).
func RequireSession(opts ...Option) gingonic.HandlerFunc {
	return Middleware(core.MustGuard(core.RequireSession, opts...))
}

// RequireAAL2 lets a request through only with an aal2 session (and, with [WithMaxAge], a
// recently proven second factor). It panics at setup when the configuration is invalid.
func RequireAAL2(opts ...Option) gingonic.HandlerFunc {
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

// Session returns the session verified for this request. It never panics: without a session
// (no guard ran, or c is nil) it returns nil, false.
func Session(c *gingonic.Context) (*ory.Session, bool) {
	if c == nil {
		return nil, false
	}
	if v, ok := c.Get(SessionKey); ok {
		if s, ok := v.(*ory.Session); ok && s != nil {
			return s, true
		}
	}
	// A guard outside gin (e.g. nethttp middleware around the engine) leaves the session
	// only in the request context.
	if c.Request == nil {
		return nil, false
	}
	return core.SessionFromContext(c.Request.Context())
}

// Middleware turns a guard built with core.NewGuard (which returns configuration errors
// instead of panicking) into gin middleware.
func Middleware(g *core.Guard) gingonic.HandlerFunc {
	deny, _ := core.AdapterOption[DenyHandler](g)
	return func(c *gingonic.Context) {
		req := core.RequestFromHTTP(c.Request)
		// The request context carries the session of an earlier guard on this request, so
		// the core does not ask Ory twice.
		d := g.Check(c.Request.Context(), &req)
		if d.Allowed() {
			if !d.FromContext {
				c.Set(SessionKey, d.Session)
				c.Request = c.Request.WithContext(core.ContextWithSession(c.Request.Context(), d.Session))
			}
			c.Next()
			return
		}
		// Abort before the deny handler so that even a c.Next() in it cannot run the route.
		c.Abort()
		denied := d // a copy, so that only denials move the decision to the heap
		if deny != nil {
			deny(c, &denied)
			return
		}
		WriteDecision(c, &denied)
	}
}

// WriteDecision writes a denial's default response (status, headers and body as the core
// built them) and aborts the chain.
func WriteDecision(c *gingonic.Context, d *core.Decision) {
	h := c.Writer.Header()
	for k, v := range d.Header {
		h[k] = v
	}
	// Not c.Data: it would add an empty Content-Type to a bodyless 303.
	c.AbortWithStatus(d.Status)
	if len(d.Body) > 0 {
		_, _ = c.Writer.Write(d.Body)
	}
}
