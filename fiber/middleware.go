package fiber

import (
	"time"

	gofiber "github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// SessionKey is the c.Locals key under which a guard stores the verified *ory.Session. It is a
// string, as fiber's own middleware use, so templates and other middleware can reach it; read
// it with [Session], which checks the type.
const SessionKey = "orymfa.session"

// Option configures a guard.
type Option = core.Option

// DenyHandler renders a denial instead of the default redirect or JSON. The decision carries
// the outcome, the Ory URL that resolves it and the default response ([WriteDecision] writes
// it). Its error goes to fiber's ErrorHandler, like any handler's.
type DenyHandler func(c *gofiber.Ctx, d *core.Decision) error

// RequireSession lets a request through with any session Ory accepts for whoami.
// It panics at setup when the configuration is invalid (e.g. ORY_SDK_URL unset).
func RequireSession(opts ...Option) gofiber.Handler {
	return Middleware(core.MustGuard(core.RequireSession, opts...))
}

// RequireAAL2 lets a request through only with an aal2 session (and, with [WithMaxAge], a
// recently proven second factor). It panics at setup when the configuration is invalid.
func RequireAAL2(opts ...Option) gofiber.Handler {
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

// nextFunc is WithNext's setting, typed so the guard can find it among the adapter options.
type nextFunc func(c *gofiber.Ctx) bool

// WithNext skips the guard for requests where next returns true, like the Next field of
// fiber's own middleware configs. A skipped request has no session.
func WithNext(next func(c *gofiber.Ctx) bool) Option { return core.WithAdapterOption(nextFunc(next)) }

// Session returns the session a guard verified for this request. It never panics.
func Session(c *gofiber.Ctx) (*ory.Session, bool) {
	if c == nil || c.Context() == nil {
		return nil, false
	}
	s, ok := c.Locals(SessionKey).(*ory.Session)
	return s, ok && s != nil
}

// WriteDecision writes a denial's default response: d.Status, every header of d.Header and
// d.Body. A DenyHandler may call it to fall back to the default.
func WriteDecision(c *gofiber.Ctx, d *core.Decision) error {
	h := &c.Response().Header
	for k, vs := range d.Header {
		h.Del(k) // replace, as net/http's header map assignment does
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return c.Status(d.Status).Send(d.Body)
}

// Middleware turns a guard built with core.NewGuard (which returns configuration errors
// instead of panicking) into a fiber handler.
func Middleware(g *core.Guard) gofiber.Handler {
	next, _ := core.AdapterOption[nextFunc](g)
	deny, _ := core.AdapterOption[DenyHandler](g)
	return func(c *gofiber.Ctx) error {
		if next != nil && next(c) {
			return c.Next()
		}
		// The user context carries the session of an earlier guard on this request (a group's),
		// so a stacked guard does not ask Ory again.
		ctx := c.UserContext()
		req := request(c)
		d := g.Check(ctx, &req)
		if d.Allowed() {
			if !d.FromContext {
				c.Locals(SessionKey, d.Session)
				c.SetUserContext(core.ContextWithSession(ctx, d.Session))
			}
			return c.Next()
		}
		// Only this copy escapes into the deny handler, so an allowed request does not pay
		// for a Decision on the heap.
		denied := d
		if deny != nil {
			return deny(c, &denied)
		}
		return WriteDecision(c, &denied)
	}
}

// request collects the facts the core reads. fasthttp reuses its buffers for the next request
// once the handler returns, so a string aliasing them must not outlive this one.
//
// No field is copied: the core reads them only during Check, copies the credential itself
// before handing it to a whoami call that may outlive the request (on a cache miss only), and
// builds everything it keeps or returns (ReturnTo, RedirectTo, Header, Body, Err) fresh. Host and TLS are taken raw rather than from c.Hostname and c.Protocol, which trust
// X-Forwarded-* by default; the core uses those headers only when configured to.
func request(c *gofiber.Ctx) core.Request {
	fc := c.Context()
	r := core.Request{
		Method: c.Method(),
		URI:    utils.UnsafeString(fc.Request.Header.RequestURI()), // c.OriginalURL() without Immutable's copy
		Host:   utils.UnsafeString(fc.Host()),
		TLS:    fc.IsTLS(),
	}
	// One pass over the headers: six c.Get calls would each normalize the name and scan all
	// headers again, about three times the cost.
	fc.Request.Header.VisitAll(func(k, v []byte) {
		switch len(k) {
		case len("Cookie"): // and Accept
			switch {
			case is(k, "Cookie"):
				if r.Cookie == "" {
					r.Cookie = utils.UnsafeString(v)
				} else { // several Cookie headers are joined, as for net/http
					r.Cookie += "; " + string(v)
				}
			case is(k, "Accept") && r.Accept == "":
				r.Accept = utils.UnsafeString(v)
			}
		case len("Authorization"):
			if r.Authorization == "" && is(k, "Authorization") {
				r.Authorization = utils.UnsafeString(v)
			}
		case len("X-Session-Token"):
			if r.SessionToken == "" && is(k, "X-Session-Token") {
				r.SessionToken = utils.UnsafeString(v)
			}
		case len("X-Forwarded-Host"):
			if r.ForwardedHost == "" && is(k, "X-Forwarded-Host") {
				r.ForwardedHost = utils.UnsafeString(v)
			}
		case len("X-Forwarded-Proto"):
			if r.ForwardedProto == "" && is(k, "X-Forwarded-Proto") {
				r.ForwardedProto = utils.UnsafeString(v)
			}
		}
	})
	return r
}

// is compares a header name case-insensitively (names are canonical unless the app disabled
// fasthttp's normalizing).
func is(name []byte, want string) bool { return utils.EqualFold(utils.UnsafeString(name), want) }
