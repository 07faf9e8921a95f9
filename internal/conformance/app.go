package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"
	"github.com/valyala/fasthttp"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// Adapter is one framework adapter of the repository, as the registry [Adapters] lists it.
type Adapter struct {
	// Name labels the subtests and selects the adapter in the benchmarks ("nethttp", "chi",
	// "gin", "echo", "echov5", "fiber", "fiberv3").
	Name string
	// Serve starts the app described by [App] on a loopback listener (httptest.NewServer or,
	// for fiber, app.Listener on net.Listen("tcp", "127.0.0.1:0")), stops it with t.Cleanup,
	// and returns its base URL ("http://127.0.0.1:port").
	Serve func(tb testing.TB, app App) string
	// ReencodesJSON says the framework re-encodes the denial's JSON on its way out (echo's
	// default error handler does, escaping "&" as "\u0026"): the same JSON value, other bytes.
	ReencodesJSON bool
	// ErrorHandler says the framework has a central error handler that the errors of
	// handlers and deny handlers reach (echo, fiber), and the app serves /errors/custom/aal2.
	ErrorHandler bool
	// DeniesWithErrors says the adapter returns API denials as errors to the framework's
	// central error handler (echo), and the app serves /errors/session and /errors/aal2.
	DeniesWithErrors bool
	// WrapsNetHTTP says the app also serves GET /outer/session, where a net/http guard (the
	// nethttp adapter's RequireSession) runs inside the framework before its own
	// RequireSession (echo.WrapMiddleware), and GET /around/session, the framework's
	// RequireSession behind a net/http guard around the whole app.
	WrapsNetHTTP bool
	// Skips says the framework's middleware take a skip function (echo's Skipper, fiber's
	// Next), and the app serves /skip/aal2 and /skip/custom/aal2 with it.
	Skips bool
	// ZeroConfig builds RequireSession() (or, with aal2, RequireAAL2()) with no options, as
	// the zero-config user does: the guard reads ORY_SDK_URL and panics at setup without it.
	ZeroConfig func(aal2 bool)
	// FastHTTP, for the adapters on fasthttp (fiber v2 and v3), returns the app as fasthttp's
	// server calls it, so that a test can reuse a request's buffers as the server does; with
	// rawHeaderNames, header names keep the client's case. Nil for the other adapters.
	FastHTTP func(tb testing.TB, app App, rawHeaderNames bool) fasthttp.RequestHandler
}

// App describes the routes every adapter serves, each built with the adapter's own
// constructors and options, all with WithVerifier(app.Verifier) unless said otherwise:
//
//	GET /public          no guard                                  -> app.Handle
//	GET /session         RequireSession()                          -> app.Handle
//	GET /aal2            RequireAAL2()                             -> app.Handle
//	POST /aal2           RequireAAL2(), a form's target            -> app.Handle
//	GET /fresh           RequireAAL2(WithMaxAge(app.MaxAge))       -> app.Handle
//	GET /group/aal2      RequireSession() on a group (or router), RequireAAL2() on the route
//	GET /group/fresh     RequireSession() on the same group, RequireAAL2(WithMaxAge(app.MaxAge)) on the route
//	GET /two/aal2        RequireSession() on a group, RequireAAL2(WithVerifier(app.Other)) on the
//	                     route: two Ory projects stacked
//	GET /api/aal2        RequireAAL2(WithMode(ModeAPI))            -> app.Handle
//	GET /browser/session RequireSession(WithMode(ModeBrowser))     -> app.Handle
//	GET /custom/aal2     RequireAAL2(WithDenyHandler(h)) where h answers with the status and
//	                     body of app.Deny(decision)
//	GET /next/aal2       RequireAAL2(WithDenyHandler(h)) where h first calls the framework's
//	                     "next" where a deny handler can reach it (gin's and fiber's c.Next()),
//	                     then writes the default response with the adapter's WriteDecision
//	GET /skip/aal2       RequireAAL2(skip), where the framework's middleware have a skip
//	                     function (echo's WithSkipper, fiber's WithNext; [Adapter.Skips]):
//	                     a request with X-Skip: 1 is not guarded
//	GET /skip/custom/aal2 RequireAAL2(WithDenyHandler(h), skip), h as on /custom/aal2
//
// When app.Begin is set, every request goes through it first, in the framework's own way (a
// handler around the router, gin's r.Use, echo's e.Use, fiber's app.Use), as server
// instrumentation such as otelhttp, otelgin or otelfiber would: the request goes on with the
// context it returns, and its end func runs when the request is done.
//
// Every handler calls app.Handle with the session from the framework's accessor
// (SessionFromContext / Session(c)) and the one from the request's context.Context (gin:
// c.Request.Context(), echo: c.Request().Context(), fiber v2: c.UserContext(), fiber v3:
// c.Context()), and writes the status and JSON body it returns with Content-Type
// application/json.
type App struct {
	Verifier *core.Verifier
	Other    *core.Verifier // another Ory project's verifier, for /two/aal2
	MaxAge   time.Duration
	Handle   func(fromAccessor, fromContext *ory.Session) (status int, body []byte)
	Deny     func(d *core.Decision) (status int, body []byte)
	Begin    func(ctx context.Context, r Incoming) (context.Context, func())
	// OnError, for the frameworks with a central error handler (echo's HTTPErrorHandler,
	// fiber's ErrorHandler; [Adapter.ErrorHandler]), is given the errors that reach it: the
	// error, the status the framework reads from it (echo v4's HTTPError.Code, v5's
	// echo.StatusCode, fiber's Error.Code; 500 without one) and, where the adapter returns
	// its denials as errors (echo's DeniedError; [Adapter.DeniesWithErrors]), the decision
	// (nil otherwise). On the routes under /errors/ the app answers with the status and the
	// HTML body it returns; elsewhere the framework's default handler answers. The routes:
	// GET /errors/session (RequireSession, with a nil Skipper in echo), GET /errors/aal2
	// (RequireAAL2), both in echo only, and GET /errors/custom/aal2 (RequireAAL2 with a deny
	// handler that returns an error wrapping errDeniedByApp and the decision's Err).
	OnError func(err error, status int, d *core.Decision) (int, []byte)
}

// Incoming is what [App.Begin] sees of a request, in every framework alike.
type Incoming struct {
	Method, Path string                   // copies, safe to keep
	Header       func(name string) string // a request header, valid during the request
	SetHeader    func(name, value string) // sets a response header, as app middleware may
}

// begin runs app.Begin, or passes the context on unchanged when the app has none.
func (app App) begin(ctx context.Context, r Incoming) (context.Context, func()) {
	if app.Begin == nil {
		return ctx, func() {}
	}
	return app.Begin(ctx, r)
}

// errDeniedByApp is what the /errors/custom/aal2 deny handler's error wraps.
var errDeniedByApp = errors.New("denied by the app")

// contextSession is the session a request with X-Context-Session: 1 carries in its context
// before any guard runs. Nothing writes to it.
var contextSession = orymfatest.NewSession(orymfatest.AAL2)

// handlerReply is what app.Handle answers, so the suite can see who the handler saw.
type handlerReply struct {
	Handler     string `json:"handler"`
	IdentityID  string `json:"identity_id"`
	AAL         string `json:"aal"`
	SameContext bool   `json:"same_context"`
}

// newApp returns an App whose handler counts its runs in ran. A request with the header
// X-Context-Session: 1 carries [contextSession] in its context from the start, as a handler test or
// an outer guard would put it there (core.ContextWithSession); one with X-Deadline (a
// duration) carries a deadline that far away, as a timeout middleware would set; one with
// X-Cacheable: 1 finds its response marked cacheable before the guards run.
func newApp(v, other *core.Verifier, maxAge time.Duration, ran *atomic.Int64) App {
	return App{
		Begin: func(ctx context.Context, r Incoming) (context.Context, func()) {
			if r.Header("X-Context-Session") == "1" {
				ctx = core.ContextWithSession(ctx, contextSession)
			}
			if r.Header("X-Cacheable") == "1" {
				r.SetHeader("Cache-Control", "public, max-age=600")
			}
			if d, err := time.ParseDuration(r.Header("X-Deadline")); err == nil {
				return context.WithTimeout(ctx, d)
			}
			return ctx, func() {}
		},
		Verifier: v,
		Other:    other,
		MaxAge:   maxAge,
		Handle: func(fromAccessor, fromContext *ory.Session) (int, []byte) {
			ran.Add(1)
			reply := handlerReply{Handler: "ran"}
			if fromAccessor != nil {
				reply.IdentityID = fromAccessor.Identity.Id
				reply.AAL = string(fromAccessor.GetAuthenticatorAssuranceLevel())
				reply.SameContext = fromContext == fromAccessor
			}
			body, _ := json.Marshal(reply)
			return http.StatusOK, body
		},
		Deny: func(d *core.Decision) (int, []byte) {
			body, _ := json.Marshal(map[string]string{"custom": d.Outcome.String(), "redirect_to": d.RedirectTo})
			return http.StatusTeapot, body
		},
	}
}
