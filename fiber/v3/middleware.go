package orymfa

import (
	"github.com/gofiber/fiber/v3"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// SessionKey is the c.Locals key under which a guard stores the verified *ory.Session. It is a
// string, so that templates (fiber.Config.PassLocalsToViews) and other middleware can reach
// it; read it with [Session], which checks the type.
const SessionKey = "orymfa.session"

// RequireSession lets a request through with any session Ory accepts for whoami.
// It panics at setup when the configuration is invalid (e.g. ORY_SDK_URL unset).
func RequireSession(opts ...Option) fiber.Handler {
	return guard(core.RequireSession, opts)
}

// RequireAAL2 lets a request through only with an aal2 session (and, with [WithMaxAge], a
// recently proven second factor). It panics at setup when the configuration is invalid.
func RequireAAL2(opts ...Option) fiber.Handler {
	return guard(core.RequireAAL2, opts)
}

func guard(require core.Requirement, opts []Option) fiber.Handler {
	o := collect(opts)
	return middleware(core.MustGuard(require, o.guard...), o)
}

// Session returns the session a guard verified for this request, from c.Locals or else
// c.Context() (where a handler test puts one with core.ContextWithSession). It never panics.
func Session(c fiber.Ctx) (*ory.Session, bool) {
	if c == nil {
		return nil, false
	}
	if dc, ok := c.(*fiber.DefaultCtx); ok && dc == nil {
		return nil, false
	}
	if c.RequestCtx() == nil { // released
		return nil, false
	}
	if s := fiber.Locals[*ory.Session](c, SessionKey); s != nil {
		return s, true
	}
	return core.SessionFromContext(c.Context())
}

// WriteDecision writes a denial's default response: d.Status, every header of d.Header and
// d.Body. A DenyHandler may call it to fall back to the default.
func WriteDecision(c fiber.Ctx, d *Decision) error {
	h := &c.Response().Header
	for k, vs := range d.Header {
		h.Del(k) // replace, as net/http's header map assignment does
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return c.Status(d.Status).Send(d.Body)
}

func middleware(g *core.Guard, o options) fiber.Handler {
	return func(c fiber.Ctx) error {
		if o.next != nil && o.next(c) {
			return c.Next()
		}
		// The request context carries the session of an earlier guard on this request (a
		// group's), so a stacked guard does not ask Ory again.
		ctx := c.Context()
		req := request(c)
		d := g.Check(ctx, &req)
		if d.Allowed() {
			if !d.FromContext {
				c.SetContext(d.Context(ctx))
				// Locals, and the context too when the app sets PassLocalsToContext, as
				// fiber's own middleware store their values.
				fiber.StoreInContext(c, SessionKey, d.Session)
			}
			return c.Next()
		}
		// Only this copy escapes into the deny handler, so an allowed request does not pay
		// for a Decision on the heap.
		denied := d
		if o.deny != nil {
			// Even a c.Next() in the deny handler must not run the route.
			return o.deny(stopped{c}, &denied)
		}
		return WriteDecision(c, &denied)
	}
}

// stopped is the Ctx a deny handler gets: the request's own, except that Next runs nothing and
// returns nil, so that a deny handler calling c.Next() cannot reach the protected route (gin
// likewise aborts the chain before its deny handler runs).
type stopped struct{ fiber.Ctx }

// Next runs nothing: the chain stops at a denial.
func (stopped) Next() error { return nil }
