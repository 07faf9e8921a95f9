package conformance

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
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
}

// App describes the routes every adapter serves, each built with the adapter's own
// constructors and options, all with WithVerifier(app.Verifier) unless said otherwise:
//
//	GET /public          no guard                                  -> app.Handle
//	GET /session         RequireSession()                          -> app.Handle
//	GET /aal2            RequireAAL2()                             -> app.Handle
//	GET /fresh           RequireAAL2(WithMaxAge(app.MaxAge))       -> app.Handle
//	GET /group/aal2      RequireSession() on a group (or router), RequireAAL2() on the route
//	GET /group/fresh     RequireSession() on the same group, RequireAAL2(WithMaxAge(app.MaxAge)) on the route
//	GET /two/aal2        RequireSession() on a group, RequireAAL2(WithVerifier(app.Other)) on the
//	                     route: two Ory projects stacked
//	GET /api/aal2        RequireAAL2(WithMode(ModeAPI))            -> app.Handle
//	GET /browser/session RequireSession(WithMode(ModeBrowser))     -> app.Handle
//	GET /custom/aal2     RequireAAL2(WithDenyHandler(h)) where h answers with the status and
//	                     body of app.Deny(decision)
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
}

// handlerReply is what app.Handle answers, so the suite can see who the handler saw.
type handlerReply struct {
	Handler     string `json:"handler"`
	IdentityID  string `json:"identity_id"`
	AAL         string `json:"aal"`
	SameContext bool   `json:"same_context"`
}

// newApp returns an App whose handler counts its runs in ran.
func newApp(v, other *core.Verifier, maxAge time.Duration, ran *atomic.Int64) App {
	return App{
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
