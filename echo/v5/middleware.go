package orymfa

import (
	"github.com/labstack/echo/v5"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// SessionKey is the echo context key under which a guard stores the verified *ory.Session
// (c.Get(SessionKey)). Prefer [Session], which also finds a session that only the request
// context carries.
const SessionKey = "orymfa.session"

// RequireSession lets a request through with any session Ory accepts for whoami.
// It panics at setup when the configuration is invalid (e.g. ORY_SDK_URL unset).
func RequireSession(opts ...Option) echo.MiddlewareFunc {
	return guard(core.RequireSession, opts)
}

// RequireAAL2 lets a request through only with an aal2 session (and, with [WithMaxAge], a
// recently proven second factor). It panics at setup when the configuration is invalid.
func RequireAAL2(opts ...Option) echo.MiddlewareFunc {
	return guard(core.RequireAAL2, opts)
}

func guard(require core.Requirement, opts []Option) echo.MiddlewareFunc {
	o := collect(opts)
	return newMiddleware(core.MustGuard(require, o.guard...), o)
}

// Session returns the session verified for this request. It never panics: without a session
// (no guard ran, or c is nil) it returns nil, false.
func Session(c *echo.Context) (*ory.Session, bool) {
	if c == nil {
		return nil, false
	}
	if s, ok := c.Get(SessionKey).(*ory.Session); ok && s != nil {
		return s, true
	}
	// A guard outside echo (net/http middleware around the server, or wrapped with
	// echo.WrapMiddleware) or a handler test (core.ContextWithSession) leaves the session
	// only in the request context.
	if r := c.Request(); r != nil {
		return core.SessionFromContext(r.Context())
	}
	return nil, false
}

func newMiddleware(g *core.Guard, o options) echo.MiddlewareFunc {
	deny := o.deny
	if deny == nil {
		deny = DefaultDenyHandler
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if o.skipper != nil && o.skipper(c) {
				return next(c)
			}
			r := c.Request()
			req := core.RequestFromHTTP(r)
			// The request context carries the session of an earlier guard on this request
			// (a group's), so the core does not ask Ory twice.
			d := g.Check(r.Context(), &req)
			if !d.Allowed() {
				denied := d // a copy, so that only denials move the decision to the heap
				return deny(c, &denied)
			}
			if !d.FromContext {
				c.Set(SessionKey, d.Session)
				c.SetRequest(r.WithContext(d.Context(r.Context())))
			}
			return next(c)
		}
	}
}

// DefaultDenyHandler renders a denial the echo way. A browser navigation's answer (a redirect
// to Ory's login, step-up, refresh or settings flow, or the error page when Ory is
// unavailable) is written at once and nil returned: an error handler would turn it into an
// error of its own. Any other denial returns a *[DeniedError] for the app's HTTPErrorHandler:
// an echo.HTTPStatusCoder with the decision's status (401, 403 or 5xx) and a json.Marshaler
// with Ory's error shape, which echo's default handler writes (its JSON encoder escapes the
// "&" in redirect_browser_to as "\u0026", the same JSON string). The other headers
// (WWW-Authenticate, Cache-Control, Retry-After) are set on the response beforehand, as
// echo's BasicAuth middleware does; Content-Type is left to whoever renders the error, which
// may be an HTML page. A deny handler that wants Ory's bytes exactly, with no error flow,
// calls [WriteDecision] and returns nil.
func DefaultDenyHandler(c *echo.Context, d *Decision) error {
	if d.Mode == ModeBrowser {
		WriteDecision(c, d)
		return nil
	}
	h := c.Response().Header()
	for k, v := range d.Header {
		if k != echo.HeaderContentType {
			h[k] = v
		}
	}
	return &DeniedError{Decision: d}
}

// WriteDecision writes a denial's default response (status, every header and body as the core
// built them) directly, bypassing the HTTPErrorHandler. A deny handler that wants no error
// flow can call it and return nil.
func WriteDecision(c *echo.Context, d *Decision) {
	w := c.Response()
	h := w.Header()
	for k, v := range d.Header {
		h[k] = v
	}
	w.WriteHeader(d.Status)
	if len(d.Body) > 0 {
		_, _ = w.Write(d.Body)
	}
}
