package orymfa_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/echo/v5"
	nethttp "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
)

// Requests as clients send them.
const (
	acceptHTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	acceptJSON = "application/json"
)

// quiet drops the verifier's log (the notice that Config.AppURL is unset).
var quiet = slog.New(slog.DiscardHandler)

// newKit starts the fake Ory and a verifier for it. The cache is off, so that every whoami
// call the middleware makes shows in srv.Calls().
func newKit(t *testing.T) (*orymfatest.Server, *orymfa.Verifier) {
	t.Helper()
	srv := orymfatest.NewServer(t)
	v, err := orymfa.New(orymfa.Config{
		SDKURL:  srv.URL,
		Cache:   orymfa.CacheConfig{Disabled: true},
		Logger:  quiet,
		OnError: func(_ context.Context, err error) { t.Log(err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv, v
}

// seen is what the handler observed.
type seen struct {
	ran        atomic.Int64
	accessor   *ory.Session
	fromCtx    *ory.Session
	fromStore  any
	accessorOK bool
}

func (s *seen) handler(c *echo.Context) error {
	s.ran.Add(1)
	s.accessor, s.accessorOK = orymfa.Session(c)
	s.fromCtx, _ = core.SessionFromContext(c.Request().Context())
	s.fromStore = c.Get(orymfa.SessionKey)
	return c.String(http.StatusOK, "ok")
}

func do(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func token(tok string) http.Header {
	return http.Header{"X-Session-Token": {tok}, "Accept": {acceptJSON}}
}

func browser(c *http.Cookie) http.Header {
	h := http.Header{"Accept": {acceptHTML}}
	if c != nil {
		h.Set("Cookie", "theme=dark; "+c.String()+"; lang=en-GB")
	}
	return h
}

// TestHTTPErrorHandler: API denials reach the app's HTTPErrorHandler as a *DeniedError whose
// status echo.StatusCode reads (echo v5's HTTPStatusCoder), recognisable by the sentinels;
// browser answers (redirects, the error page) are written directly and never reach it.
func TestHTTPErrorHandler(t *testing.T) {
	tests := []struct {
		name     string
		aal2     bool
		header   func(srv *orymfatest.Server) http.Header
		fault    orymfatest.Fault
		status   int
		sentinel error
		outcome  orymfa.Outcome
	}{
		{name: "no session", header: func(*orymfatest.Server) http.Header { return http.Header{"Accept": {acceptJSON}} },
			status: 401, sentinel: orymfa.ErrNoSession, outcome: orymfa.Login},
		{name: "step-up", aal2: true, header: func(srv *orymfatest.Server) http.Header {
			return token(srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1))
		}, status: 403, sentinel: orymfa.ErrAAL2Required, outcome: orymfa.StepUp},
		{name: "enroll", aal2: true, header: func(srv *orymfatest.Server) http.Header {
			return token(srv.SignIn(srv.NewIdentity(), orymfatest.AAL1))
		}, status: 403, sentinel: orymfa.ErrNoSecondFactor, outcome: orymfa.Enroll},
		{name: "Ory down", fault: orymfatest.Down, header: func(srv *orymfatest.Server) http.Header {
			return token(srv.SignIn(srv.NewIdentity(), orymfatest.AAL1))
		}, status: 503, sentinel: orymfa.ErrUnavailable, outcome: orymfa.Unavailable},
		{name: "browser redirect bypasses the error handler", header: func(*orymfatest.Server) http.Header { return browser(nil) }, status: 303},
		{name: "browser error page bypasses the error handler", fault: orymfatest.Down, header: func(srv *orymfatest.Server) http.Header {
			return browser(srv.Cookie(srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)))
		}, status: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, v := newKit(t)
			header := tt.header(srv)
			srv.SetFault(tt.fault)
			var got error
			e := echo.New()
			e.HTTPErrorHandler = func(c *echo.Context, err error) {
				got = err
				var denied *orymfa.DeniedError
				if errors.As(err, &denied) {
					_ = c.HTML(echo.StatusCode(err), `<a href="`+denied.Decision.RedirectTo+`">continue</a>`)
					return
				}
				echo.DefaultHTTPErrorHandler(false)(c, err)
			}
			guard := orymfa.RequireSession(orymfa.WithVerifier(v))
			if tt.aal2 {
				guard = orymfa.RequireAAL2(orymfa.WithVerifier(v))
			}
			var s seen
			e.GET("/r", s.handler, guard)

			w := do(e, http.MethodGet, "/r", header)

			if s.ran.Load() != 0 {
				t.Fatal("handler ran on a denial")
			}
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if tt.sentinel == nil { // a browser answer, written by the guard itself
				if got != nil {
					t.Fatalf("error handler saw %v", got)
				}
				if w.Code == http.StatusSeeOther {
					if loc := w.Header().Get("Location"); !strings.Contains(loc, "/self-service/login/browser?return_to=") {
						t.Errorf("Location %q", loc)
					}
					return
				}
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(w.Body.String(), "<html") {
					t.Errorf("Content-Type %q, body %q: want the error page", ct, w.Body)
				}
				if w.Header().Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				return
			}
			if code := echo.StatusCode(got); code != tt.status {
				t.Fatalf("error handler saw %#v with status %d, want %d", got, code, tt.status)
			}
			if !errors.Is(got, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", got, tt.sentinel)
			}
			var denied *orymfa.DeniedError
			if !errors.As(got, &denied) || denied.Decision.Outcome != tt.outcome {
				t.Fatalf("no DeniedError with outcome %v in %v", tt.outcome, got)
			}
			if strings.Contains(got.Error(), "{") {
				t.Errorf("Error() prints the body: %s", got)
			}
			// The app rendered HTML: the core's JSON Content-Type must not have been preset,
			// but the other headers are.
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q, want the error handler's text/html", ct)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", w.Header().Get("Cache-Control"))
			}
			if tt.outcome == orymfa.Unavailable {
				if w.Header().Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				return
			}
			if w.Header().Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate")
			}
			if !strings.Contains(w.Body.String(), "/self-service/") {
				t.Errorf("body %q", w.Body)
			}
		})
	}
}

// TestDefaultHTTPErrorHandler: with echo's own error handler an API client gets Ory's JSON
// error shape with the decision's status and headers.
func TestDefaultHTTPErrorHandler(t *testing.T) {
	srv, v := newKit(t)
	tok := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	e := echo.New()
	var s seen
	e.GET("/r", s.handler, orymfa.RequireAAL2(orymfa.WithVerifier(v)))

	w := do(e, http.MethodGet, "/r?x=1", token(tok))

	if w.Code != http.StatusForbidden || s.ran.Load() != 0 {
		t.Fatalf("status %d, handler runs %d", w.Code, s.ran.Load())
	}
	var body struct {
		Error struct {
			ID   string `json:"id"`
			Code int    `json:"code"`
		} `json:"error"`
		RedirectBrowserTo string `json:"redirect_browser_to"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("%v: %s", err, w.Body)
	}
	if body.Error.ID != "session_aal2_required" || body.Error.Code != 403 ||
		!strings.Contains(body.RedirectBrowserTo, "/self-service/login/browser?aal=aal2&return_to=") {
		t.Errorf("body %s", w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if wa := w.Header().Get("WWW-Authenticate"); !strings.Contains(wa, `acr_values="aal2"`) {
		t.Errorf("WWW-Authenticate %q", wa)
	}
}

// TestEchoErrorHandlers: the denial works with echo v5's error flows even when an app
// middleware wraps the error (echo finds the HTTPStatusCoder through %w): the default handler
// writes Ory's JSON shape, the RFC 9457 ProblemDetailsHTTPErrorHandler a problem document,
// both with the decision's status and headers.
func TestEchoErrorHandlers(t *testing.T) {
	srv, v := newKit(t)
	tok := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	for name, tt := range map[string]struct {
		handler     echo.HTTPErrorHandler
		contentType string
		body        string
	}{
		"DefaultHTTPErrorHandler":        {echo.DefaultHTTPErrorHandler(false), "application/json", `"id":"session_aal2_required"`},
		"ProblemDetailsHTTPErrorHandler": {echo.ProblemDetailsHTTPErrorHandler(false), "application/problem+json", `"status":403`},
	} {
		t.Run(name, func(t *testing.T) {
			e := echo.New()
			e.HTTPErrorHandler = tt.handler
			e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c *echo.Context) error {
					if err := next(c); err != nil {
						return fmt.Errorf("GET %s: %w", c.Path(), err)
					}
					return nil
				}
			})
			var s seen
			e.GET("/r", s.handler, orymfa.RequireAAL2(orymfa.WithVerifier(v)))
			w := do(e, http.MethodGet, "/r", token(tok))
			if w.Code != http.StatusForbidden || s.ran.Load() != 0 {
				t.Fatalf("status %d, handler runs %d", w.Code, s.ran.Load())
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) || !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("Content-Type %q, body %s", ct, w.Body)
			}
			if wa := w.Header().Get("WWW-Authenticate"); !strings.Contains(wa, `acr_values="aal2"`) {
				t.Errorf("WWW-Authenticate %q", wa)
			}
		})
	}
}

// TestDeniedErrorZero: a DeniedError without a decision (an app's own) is still an error that
// echo can render.
func TestDeniedErrorZero(t *testing.T) {
	var err error = &orymfa.DeniedError{}
	if echo.StatusCode(err) != 0 || err.Error() == "" || errors.Unwrap(err) != nil {
		t.Errorf("status %d, Error %q, Unwrap %v", echo.StatusCode(err), err, errors.Unwrap(err))
	}
	if b, jerr := json.Marshal(err); jerr != nil || string(b) != "{}" {
		t.Errorf("json: %s, %v", b, jerr)
	}
}

// TestSession: an allowed request's handler finds the verified session with Session, in
// c.Get(SessionKey) and in the request context, from a cookie or a session token.
func TestSession(t *testing.T) {
	srv, v := newKit(t)
	id := srv.NewIdentity(orymfatest.WithSecondFactor())
	tok := srv.SignIn(id, orymfatest.AAL2)
	for name, header := range map[string]http.Header{"token": token(tok), "cookie": browser(srv.Cookie(tok))} {
		t.Run(name, func(t *testing.T) {
			var s seen
			e := echo.New()
			e.GET("/r", s.handler, orymfa.RequireAAL2(orymfa.WithVerifier(v)))
			if w := do(e, http.MethodGet, "/r", header); w.Code != http.StatusOK {
				t.Fatalf("status %d; body %s", w.Code, w.Body)
			}
			if !s.accessorOK || s.accessor.Identity.Id != id.ID {
				t.Fatalf("Session(c) = %v, %v", s.accessor, s.accessorOK)
			}
			if s.fromCtx != s.accessor || s.fromStore != s.accessor {
				t.Errorf("request context %p, c.Get %v, Session(c) %p", s.fromCtx, s.fromStore, s.accessor)
			}
			if name == "cookie" && strings.Contains(srv.LastCookie(), "theme") {
				t.Errorf("the app's cookies reached Ory: %q", srv.LastCookie())
			}
		})
	}
}

// TestSessionFromRequestContext: a handler unit test puts a session into the request context
// (orymfatest.WithSession, core.ContextWithSession) and Session finds it, with no guard.
func TestSessionFromRequestContext(t *testing.T) {
	want := orymfatest.NewSession(orymfatest.AAL2)
	e := echo.New()
	for name, req := range map[string]*http.Request{
		"orymfatest.WithSession": orymfatest.WithSession(httptest.NewRequest(http.MethodGet, "/", nil), want),
		"core.ContextWithSession": httptest.NewRequest(http.MethodGet, "/", nil).WithContext(
			core.ContextWithSession(context.Background(), want)),
	} {
		c := e.NewContext(req, httptest.NewRecorder())
		if got, ok := orymfa.Session(c); !ok || got != want {
			t.Errorf("%s: Session(c) = %v, %v", name, got, ok)
		}
	}
	if s, ok := orymfa.Session(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())); ok || s != nil {
		t.Errorf("no session: Session(c) = %v, %v", s, ok)
	}
	if s, ok := orymfa.Session(nil); ok || s != nil {
		t.Errorf("nil context: Session(c) = %v, %v", s, ok)
	}
}

// TestContextSessionNotTrusted: a session that only ContextWithSession put into the request
// context is not trusted by a guard: it asks Ory, and without credentials denies.
func TestContextSessionNotTrusted(t *testing.T) {
	srv, v := newKit(t)
	e := echo.New()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			c.SetRequest(orymfatest.WithSession(c.Request(), orymfatest.NewSession(orymfatest.AAL2)))
			return next(c)
		}
	})
	var s seen
	e.GET("/r", s.handler, orymfa.RequireSession(orymfa.WithVerifier(v)))
	if w := do(e, http.MethodGet, "/r", token("ory_st_unknown")); w.Code != http.StatusUnauthorized || s.ran.Load() != 0 || srv.Calls() != 1 {
		t.Fatalf("status %d, handler runs %d, whoami calls %d", w.Code, s.ran.Load(), srv.Calls())
	}
}

// TestGuardOutsideEcho: a session that a net/http guard verified (around the server, or
// inside it with echo.WrapMiddleware) is found by Session and reused by an echo guard without
// asking Ory again.
func TestGuardOutsideEcho(t *testing.T) {
	srv, v := newKit(t)
	id := srv.NewIdentity()
	tok := srv.SignIn(id, orymfatest.AAL1)
	outer := nethttp.RequireSession(nethttp.WithVerifier(v))
	for _, wrapped := range []bool{false, true} {
		t.Run(fmt.Sprintf("WrapMiddleware=%v", wrapped), func(t *testing.T) {
			var s seen
			e := echo.New()
			var h http.Handler = e
			if wrapped {
				e.Use(echo.WrapMiddleware(outer))
			} else {
				h = outer(e)
			}
			e.GET("/r", s.handler, orymfa.RequireSession(orymfa.WithVerifier(v)))
			srv.ResetCalls()
			if w := do(h, http.MethodGet, "/r", token(tok)); w.Code != http.StatusOK {
				t.Fatalf("status %d; body %s", w.Code, w.Body)
			}
			if !s.accessorOK || s.accessor.Identity.Id != id.ID || srv.Calls() != 1 {
				t.Errorf("Session(c) = %v, %v; whoami calls %d", s.accessor, s.accessorOK, srv.Calls())
			}
		})
	}
}

// TestStackedGuards: a RequireAAL2 route inside a RequireSession group reuses the group's
// session: one whoami call per request, even without a cache.
func TestStackedGuards(t *testing.T) {
	srv, v := newKit(t)
	id := srv.NewIdentity(orymfatest.WithSecondFactor())
	tok := srv.SignIn(id, orymfatest.AAL2)
	var s seen
	e := echo.New()
	g := e.Group("/account", orymfa.RequireSession(orymfa.WithVerifier(v)))
	g.GET("/transfer", s.handler, orymfa.RequireAAL2(orymfa.WithVerifier(v), orymfa.WithMaxAge(5*time.Minute)))
	for _, header := range []http.Header{token(tok), browser(srv.Cookie(tok))} {
		srv.ResetCalls()
		if w := do(e, http.MethodGet, "/account/transfer", header); w.Code != http.StatusOK {
			t.Fatalf("status %d; body %s", w.Code, w.Body)
		}
		if srv.Calls() != 1 || s.accessor.Identity.Id != id.ID {
			t.Errorf("whoami calls %d, identity %v", srv.Calls(), s.accessor.Identity.Id)
		}
	}
	// The route's stricter demand still holds: a session older than its max age is refused.
	srv.Backdate(tok, 10*time.Minute)
	srv.ResetCalls()
	w := do(e, http.MethodGet, "/account/transfer", browser(srv.Cookie(tok)))
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "refresh=true&aal=aal2") {
		t.Errorf("stale aal2: status %d, Location %q", w.Code, w.Header().Get("Location"))
	}
}

// TestSkipper: a skipped request reaches the handler without asking Ory; others are guarded.
func TestSkipper(t *testing.T) {
	srv, v := newKit(t)
	var s seen
	e := echo.New()
	skipper := func(c *echo.Context) bool { return c.Path() == "/health" }
	e.Use(orymfa.RequireSession(orymfa.WithVerifier(v), orymfa.WithSkipper(skipper)))
	e.GET("/health", s.handler)
	e.GET("/private", s.handler)

	if w := do(e, http.MethodGet, "/health", nil); w.Code != 200 {
		t.Fatalf("skipped route: status %d", w.Code)
	}
	if s.accessorOK || srv.Calls() != 0 {
		t.Fatalf("skipped route: session %v, whoami calls %d", s.accessorOK, srv.Calls())
	}
	if w := do(e, http.MethodGet, "/private", token("ory_st_unknown")); w.Code != 401 || s.ran.Load() != 1 || srv.Calls() != 1 {
		t.Fatalf("guarded route: status %d, handler runs %d, whoami calls %d", w.Code, s.ran.Load(), srv.Calls())
	}
	var nilSkipper middleware.Skipper
	e2 := echo.New()
	e2.GET("/r", s.handler, orymfa.RequireSession(orymfa.WithVerifier(v), orymfa.WithSkipper(nilSkipper)))
	if w := do(e2, http.MethodGet, "/r", nil); w.Code != 401 {
		t.Fatalf("nil skipper: status %d", w.Code)
	}
}

// TestWriteDecision: a deny handler that wants no error flow writes the default response.
func TestWriteDecision(t *testing.T) {
	_, v := newKit(t)
	var handled atomic.Bool
	var outcome orymfa.Outcome
	e := echo.New()
	e.HTTPErrorHandler = func(c *echo.Context, err error) { handled.Store(true) }
	var s seen
	e.GET("/r", s.handler, orymfa.RequireSession(orymfa.WithVerifier(v), orymfa.WithDenyHandler(
		func(c *echo.Context, d *orymfa.Decision) error {
			outcome = d.Outcome
			orymfa.WriteDecision(c, d)
			return nil
		})))
	w := do(e, http.MethodGet, "/r", nil)
	if w.Code != 401 || handled.Load() || s.ran.Load() != 0 || outcome != orymfa.Login {
		t.Fatalf("status %d, error handler %v, handler runs %d, outcome %v", w.Code, handled.Load(), s.ran.Load(), outcome)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || !strings.Contains(w.Body.String(), "session_inactive") {
		t.Errorf("Content-Type %q, body %q", ct, w.Body)
	}
}

// TestMiddleware: a guard built with core.NewGuard takes the adapter's own options; the
// guard's settings belong to core.NewGuard, and passing them to Middleware panics.
func TestMiddleware(t *testing.T) {
	srv, v := newKit(t)
	g, err := core.NewGuard(core.RequireAAL2, core.WithVerifier(v))
	if err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]orymfa.Option{
		"WithMaxAge":   orymfa.WithMaxAge(time.Minute),
		"WithVerifier": orymfa.WithVerifier(v),
		"WithMode":     orymfa.WithMode(orymfa.ModeAPI),
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "core.NewGuard") {
					t.Errorf("Middleware(g, %s): recovered %v, want a panic naming core.NewGuard", name, r)
				}
			}()
			orymfa.Middleware(g, opt)
		}()
	}

	var denied atomic.Int64
	var s seen
	e := echo.New()
	e.GET("/r", s.handler, orymfa.Middleware(g,
		orymfa.WithSkipper(func(c *echo.Context) bool { return c.QueryParam("skip") != "" }),
		orymfa.WithDenyHandler(func(c *echo.Context, d *orymfa.Decision) error {
			denied.Add(1)
			return c.NoContent(http.StatusTeapot)
		})))
	if w := do(e, http.MethodGet, "/r", nil); w.Code != http.StatusTeapot || denied.Load() != 1 {
		t.Errorf("deny handler: status %d, calls %d", w.Code, denied.Load())
	}
	if w := do(e, http.MethodGet, "/r?skip=1", nil); w.Code != http.StatusOK || s.accessorOK {
		t.Errorf("skipper: status %d, session %v", w.Code, s.accessorOK)
	}
	tok := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	if w := do(e, http.MethodGet, "/r", token(tok)); w.Code != http.StatusOK || !s.accessorOK {
		t.Errorf("aal2: status %d, session %v", w.Code, s.accessorOK)
	}
}

// TestMissingSDKURL: the zero-argument constructors fail at setup, naming the setting.
func TestMissingSDKURL(t *testing.T) {
	t.Setenv(core.EnvSDKURL, "")
	for name, mk := range map[string]func(...orymfa.Option) echo.MiddlewareFunc{
		"RequireSession": orymfa.RequireSession, "RequireAAL2": orymfa.RequireAAL2,
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), core.EnvSDKURL) {
					t.Errorf("%s(): recovered %v, want a panic naming %s", name, r, core.EnvSDKURL)
				}
			}()
			mk()
		}()
	}
}

// TestConcurrentIdentities: many concurrent requests of different users, by session token and
// by cookie, each see their own identity, and requests that no guard checks see none: echo v5
// pools its *echo.Context and only clears its store between requests (Context.Reset), so
// nothing of one request may leak into another.
func TestConcurrentIdentities(t *testing.T) {
	for _, cache := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cache), func(t *testing.T) {
			srv := orymfatest.NewServer(t)
			v, err := orymfa.New(orymfa.Config{SDKURL: srv.URL, Cache: orymfa.CacheConfig{Disabled: !cache}, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			e := echo.New()
			identify := func(c *echo.Context) error {
				s, ok := orymfa.Session(c)
				if !ok {
					return c.String(http.StatusOK, "none")
				}
				if fromCtx, _ := core.SessionFromContext(c.Request().Context()); fromCtx != s {
					return c.String(http.StatusInternalServerError, "request context and c.Get disagree")
				}
				return c.String(http.StatusOK, s.Identity.Id)
			}
			e.GET("/public", identify)
			g := e.Group("/account", orymfa.RequireSession(orymfa.WithVerifier(v)))
			g.GET("/me", identify, orymfa.RequireAAL2(orymfa.WithVerifier(v)))

			type user struct {
				id     string
				header http.Header
			}
			var users []user
			for i := range 16 {
				id := srv.NewIdentity(orymfatest.WithSecondFactor())
				tok := srv.SignIn(id, orymfatest.AAL2)
				header := token(tok)
				if i%2 == 1 {
					header = browser(srv.Cookie(tok))
				}
				users = append(users, user{id.ID, header})
			}
			var wg sync.WaitGroup
			for _, u := range users {
				for range 4 {
					wg.Go(func() {
						for j := range 25 {
							path, want := "/account/me", u.id
							if j%3 == 0 {
								path, want = "/public", "none"
							}
							w := do(e, http.MethodGet, path, u.header)
							if w.Code != http.StatusOK || w.Body.String() != want {
								t.Errorf("%s as %s: status %d, body %q", path, u.id, w.Code, w.Body)
								return
							}
						}
					})
				}
			}
			wg.Wait()
		})
	}
}
