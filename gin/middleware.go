package orymfa

import (
	"github.com/gin-gonic/gin"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// SessionKey is the gin context key under which a guard stores the verified *ory.Session
// (c.Get(SessionKey)). Prefer [Session], which also finds a session that only the request
// context carries.
const SessionKey = "orymfa.session"

// RequireSession lets a request through with any session Ory accepts for whoami.
// It panics at setup when the configuration is invalid (e.g. ORY_SDK_URL unset).
func RequireSession(opts ...Option) gin.HandlerFunc {
	return guard(core.RequireSession, opts)
}

// RequireAAL2 lets a request through only with an aal2 session (and, with [WithMaxAge], a
// recently proven second factor). It panics at setup when the configuration is invalid.
func RequireAAL2(opts ...Option) gin.HandlerFunc {
	return guard(core.RequireAAL2, opts)
}

func guard(require core.Requirement, opts []Option) gin.HandlerFunc {
	o := collect(opts)
	return middleware(core.MustGuard(require, o.guard...), o)
}

// Session returns the session verified for this request. It never panics: without a session
// (no guard ran, or c is nil) it returns nil, false.
func Session(c *gin.Context) (*ory.Session, bool) {
	if c == nil {
		return nil, false
	}
	if v, ok := c.Get(SessionKey); ok {
		if s, ok := v.(*ory.Session); ok && s != nil {
			return s, true
		}
	}
	// A guard outside gin (net/http middleware around the engine) or a handler test
	// (core.ContextWithSession) leaves the session only in the request context.
	if c.Request == nil {
		return nil, false
	}
	return core.SessionFromContext(c.Request.Context())
}

func middleware(g *core.Guard, o options) gin.HandlerFunc {
	return func(c *gin.Context) {
		req := core.RequestFromHTTP(c.Request)
		// The request context carries the session of an earlier guard on this request, so
		// the core does not ask Ory twice.
		d := g.Check(c.Request.Context(), &req)
		if d.Allowed() {
			if !d.FromContext {
				c.Set(SessionKey, d.Session)
				c.Request = c.Request.WithContext(d.Context(c.Request.Context()))
			}
			c.Next()
			return
		}
		// Abort before the deny handler so that even a c.Next() in it cannot run the route.
		c.Abort()
		denied := d // a copy, so that only denials move the decision to the heap
		if o.deny != nil {
			o.deny(c, &denied)
			return
		}
		WriteDecision(c, &denied)
	}
}

// WriteDecision writes a denial's default response (status, headers and body as the core
// built them) and aborts the chain.
func WriteDecision(c *gin.Context, d *Decision) {
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
