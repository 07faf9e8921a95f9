package echo

import (
	"time"

	labecho "github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// SessionKey is the echo context key under which a guard stores the verified *ory.Session
// (c.Get(SessionKey)). Prefer [Session], which also finds a session that only the request
// context carries.
const SessionKey = "orymfa.session"

// Option configures a guard.
type Option = core.Option

// DenyHandler renders a denial instead of [DefaultDenyHandler], like echo-jwt's ErrorHandler.
// The decision carries the outcome, the Ory URL that resolves it and the default response.
// Its error, if any, goes to the app's HTTPErrorHandler. The route's handler never runs.
type DenyHandler func(c labecho.Context, d *core.Decision) error

// DeniedError is the Internal error of the *echo.HTTPError that [DefaultDenyHandler] returns,
// so an app's HTTPErrorHandler can recognise a denial with errors.As and read the decision
// (outcome, RedirectTo). It unwraps to the decision's Err, so errors.Is(err,
// core.ErrAAL2Required) and friends work on the *echo.HTTPError too.
type DeniedError struct {
	Decision *core.Decision
}

// Error returns the denial's cause; it is for logs, never for clients.
func (e *DeniedError) Error() string {
	if e.Decision == nil || e.Decision.Err == nil {
		return "orymfa: request denied"
	}
	return e.Decision.Err.Error()
}

// Unwrap returns the decision's Err (it wraps a core sentinel such as core.ErrNoSession).
func (e *DeniedError) Unwrap() error {
	if e.Decision == nil {
		return nil
	}
	return e.Decision.Err
}

// RequireSession lets a request through with any session Ory accepts for whoami.
// It panics at setup when the configuration is invalid (e.g. ORY_SDK_URL unset).
func RequireSession(opts ...Option) labecho.MiddlewareFunc {
	return Middleware(core.MustGuard(core.RequireSession, opts...))
}

// RequireAAL2 lets a request through only with an aal2 session (and, with [WithMaxAge], a
// recently proven second factor). It panics at setup when the configuration is invalid.
func RequireAAL2(opts ...Option) labecho.MiddlewareFunc {
	return Middleware(core.MustGuard(core.RequireAAL2, opts...))
}

// WithMaxAge demands that the second factor was proven within d.
func WithMaxAge(d time.Duration) Option { return core.WithMaxAge(d) }

// WithVerifier uses an explicitly configured verifier (see core.New) instead of ORY_SDK_URL.
func WithVerifier(v *core.Verifier) Option { return core.WithVerifier(v) }

// WithMode forces core.ModeBrowser (redirects) or core.ModeAPI (JSON) for a route.
func WithMode(m core.Mode) Option { return core.WithMode(m) }

// WithDenyHandler renders denials with h instead of [DefaultDenyHandler].
func WithDenyHandler(h DenyHandler) Option { return core.WithAdapterOption(h) }

// WithSkipper skips the guard for requests where skipper returns true, echo's Skipper
// convention (as in echo-jwt). A skipped request has no session.
func WithSkipper(skipper middleware.Skipper) Option { return core.WithAdapterOption(skipper) }

// Session returns the session verified for this request. It never panics: without a session
// (no guard ran, or c is nil) it returns nil, false.
func Session(c labecho.Context) (*ory.Session, bool) {
	if c == nil {
		return nil, false
	}
	if s, ok := c.Get(SessionKey).(*ory.Session); ok && s != nil {
		return s, true
	}
	// A guard outside echo (net/http middleware around the server, or wrapped with
	// echo.WrapMiddleware) leaves the session only in the request context.
	if r := c.Request(); r != nil {
		return core.SessionFromContext(r.Context())
	}
	return nil, false
}

// Middleware turns a guard built with core.NewGuard (which returns configuration errors
// instead of panicking) into echo middleware.
func Middleware(g *core.Guard) labecho.MiddlewareFunc {
	deny, _ := core.AdapterOption[DenyHandler](g)
	if deny == nil {
		deny = DefaultDenyHandler
	}
	skip, _ := core.AdapterOption[middleware.Skipper](g)
	return func(next labecho.HandlerFunc) labecho.HandlerFunc {
		return func(c labecho.Context) error {
			if skip != nil && skip(c) {
				return next(c)
			}
			r := c.Request()
			req := core.RequestFromHTTP(r)
			// The request context carries the session of an earlier guard on this request
			// (a group's), so the core does not ask Ory twice.
			d := g.Check(r.Context(), &req)
			if !d.Allowed() {
				// A copy, so that only denials move the decision to the heap.
				denied := d
				return deny(c, &denied)
			}
			if !d.FromContext {
				c.Set(SessionKey, d.Session)
				c.SetRequest(r.WithContext(core.ContextWithSession(r.Context(), d.Session)))
			}
			return next(c)
		}
	}
}

// DefaultDenyHandler renders a denial the echo way. A redirect (a browser navigation sent to
// Ory's login, step-up, refresh or settings flow) is written at once and nil returned: an
// error handler would turn it into an error page. Any other denial returns an *echo.HTTPError
// for the app's HTTPErrorHandler: Code is the decision's status (401, 403 or 5xx), Message the
// core's JSON body (a json.Marshaler, so echo's default handler writes Ory's error shape
// unchanged) and Internal a *[DeniedError]. The other headers (WWW-Authenticate,
// Cache-Control) are set on the response beforehand, as echo's BasicAuth middleware does;
// Content-Type is left to whoever renders the error, which may be an HTML page.
func DefaultDenyHandler(c labecho.Context, d *core.Decision) error {
	if d.Header.Get(labecho.HeaderLocation) != "" {
		WriteDecision(c, d)
		return nil
	}
	h := c.Response().Header()
	for k, v := range d.Header {
		if k != labecho.HeaderContentType {
			h[k] = v
		}
	}
	return &labecho.HTTPError{Code: d.Status, Message: jsonBody(d.Body), Internal: &DeniedError{Decision: d}}
}

// jsonBody is the Message of a denial's *echo.HTTPError. Like json.RawMessage it marshals to
// itself, so echo's default handler writes Ory's error shape unchanged; unlike it, it prints
// as text in HTTPError.Error() (a json.RawMessage prints as a list of byte values in logs).
type jsonBody []byte

// MarshalJSON returns the body as is.
func (b jsonBody) MarshalJSON() ([]byte, error) { return b, nil }

// String returns the body as text, for logs.
func (b jsonBody) String() string { return string(b) }

// WriteDecision writes a denial's default response (status, every header and body as the core
// built them) directly, bypassing the HTTPErrorHandler. A deny handler that wants no error
// flow can call it and return nil.
func WriteDecision(c labecho.Context, d *core.Decision) {
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
