package echo_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	orymecho "github.com/orymfa/orymfa/echo"
	"github.com/orymfa/orymfa/internal/fakeory"
)

// newFake starts the fake whoami server and a verifier for it. The cache is disabled so that
// every whoami call the middleware makes shows in fake.Calls().
func newFake(t *testing.T) (*fakeory.Server, *core.Verifier) {
	t.Helper()
	fake := fakeory.New()
	t.Cleanup(fake.Close)
	fake.Respond(answerLikeKratos)
	v := core.MustNew(core.Config{
		SDKURL:  fake.URL,
		Cache:   core.CacheConfig{Disabled: true},
		OnError: func(_ context.Context, err error) { t.Log(err) },
	})
	return fake, v
}

// answerLikeKratos is fakeory's default answer plus identity.schema_url, which client-go
// v1.22.92 requires and fakeory's session document lacks (without it every session is
// "malformed"). Drop it once fakeory sends schema_url.
func answerLikeKratos(w http.ResponseWriter, r *http.Request) {
	cred := r.Header.Get("X-Session-Token")
	if c, err := r.Cookie(fakeory.CookieName); err == nil {
		cred = c.Value
	}
	aal := ""
	switch cred {
	case fakeory.TokenAAL1, fakeory.CookieAAL1:
		aal = "aal1"
	case fakeory.TokenAAL2, fakeory.CookieAAL2:
		aal = "aal2"
	case fakeory.TokenStepUp, fakeory.CookieStepUp:
		fakeory.WriteError(w, http.StatusForbidden, "session_aal2_required")
		return
	default:
		fakeory.WriteError(w, http.StatusUnauthorized, "")
		return
	}
	s := fakeory.Session(aal, time.Now())
	s["identity"].(map[string]any)["schema_url"] = "http://127.0.0.1/schemas/default"
	fakeory.WriteSession(w, s)
}

// seen is what the handler observed.
type seen struct {
	ran        atomic.Int64
	accessor   *ory.Session
	fromCtx    *ory.Session
	accessorOK bool
}

func (s *seen) handler(c echo.Context) error {
	s.ran.Add(1)
	s.accessor, s.accessorOK = orymecho.Session(c)
	s.fromCtx, _ = core.SessionFromContext(c.Request().Context())
	return c.String(http.StatusOK, "ok")
}

type oryErrorBody struct {
	Error struct {
		ID   string `json:"id"`
		Code int    `json:"code"`
	} `json:"error"`
	RedirectBrowserTo string `json:"redirect_browser_to"`
}

func do(e *echo.Echo, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	return w
}

func TestMiddleware(t *testing.T) {
	teapot := orymecho.WithDenyHandler(func(c echo.Context, d *core.Decision) error {
		return c.JSON(http.StatusTeapot, echo.Map{"outcome": d.Outcome.String()})
	})
	tests := []struct {
		name     string
		aal2     bool
		opts     []orymecho.Option
		header   http.Header
		fake500  bool
		status   int
		ran      bool
		errorID  string // Ory error id in the JSON body
		location string // prefix of Location, after the fake's URL
		body     string // substring of the body
	}{
		{name: "token aal2", aal2: true, header: http.Header{"X-Session-Token": {fakeory.TokenAAL2}}, status: 200, ran: true},
		{name: "bearer aal1 session", header: http.Header{"Authorization": {"Bearer " + fakeory.TokenAAL1}}, status: 200, ran: true},
		{name: "cookie aal2", aal2: true, header: http.Header{"Cookie": {"app=1; " + fakeory.CookieName + "=" + fakeory.CookieAAL2}}, status: 200, ran: true},
		{name: "api without credentials", status: 401, errorID: "session_inactive"},
		{name: "browser without credentials", header: http.Header{"Accept": {"text/html,application/xhtml+xml"}}, status: 303,
			location: "/self-service/login/browser?return_to=" + "http%3A%2F%2Fexample.com%2Fr%3Fq%3D1"},
		{name: "token step-up", header: http.Header{"X-Session-Token": {fakeory.TokenStepUp}}, status: 403, errorID: "session_aal2_required"},
		{name: "browser step-up", aal2: true, header: http.Header{"Accept": {"text/html"}, "Cookie": {fakeory.CookieName + "=" + fakeory.CookieStepUp}},
			status: 303, location: "/self-service/login/browser?aal=aal2&return_to="},
		{name: "aal1 token on aal2 route", aal2: true, header: http.Header{"X-Session-Token": {fakeory.TokenAAL1}}, status: 403, errorID: "session_aal2_required"},
		{name: "ory answers 500", fake500: true, header: http.Header{"X-Session-Token": {fakeory.TokenAAL2}}, status: 502, errorID: "ory_unavailable"},
		{name: "api mode forces JSON", opts: []orymecho.Option{orymecho.WithMode(core.ModeAPI)}, header: http.Header{"Accept": {"text/html"}}, status: 401, errorID: "session_inactive"},
		{name: "deny handler", aal2: true, opts: []orymecho.Option{teapot}, header: http.Header{"X-Session-Token": {fakeory.TokenAAL1}}, status: http.StatusTeapot, body: `"outcome":"enroll"`},
		{name: "deny handler not used when allowed", opts: []orymecho.Option{teapot}, header: http.Header{"X-Session-Token": {fakeory.TokenAAL1}}, status: 200, ran: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, v := newFake(t)
			if tt.fake500 {
				fake.Respond(func(w http.ResponseWriter, _ *http.Request) { fakeory.WriteError(w, 500, "") })
			}
			opts := append([]orymecho.Option{orymecho.WithVerifier(v)}, tt.opts...)
			guard := orymecho.RequireSession(opts...)
			if tt.aal2 {
				guard = orymecho.RequireAAL2(opts...)
			}
			var s seen
			e := echo.New()
			e.GET("/r", s.handler, guard)

			w := do(e, http.MethodGet, "/r?q=1", tt.header)

			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if got := s.ran.Load() == 1; got != tt.ran {
				t.Fatalf("handler ran: %v, want %v", got, tt.ran)
			}
			// Without a credential the core answers without asking Ory.
			wantCalls := int64(0)
			if tt.header.Get("X-Session-Token")+tt.header.Get("Authorization")+tt.header.Get("Cookie") != "" {
				wantCalls = 1
			}
			if fake.Calls() != wantCalls {
				t.Errorf("whoami calls %d, want %d", fake.Calls(), wantCalls)
			}
			if tt.ran {
				if !s.accessorOK || s.accessor == nil || s.accessor.Identity.Id != fakeory.IdentityID {
					t.Errorf("Session(c) = %v, %v", s.accessor, s.accessorOK)
				}
				if s.fromCtx != s.accessor {
					t.Errorf("request context session %p, accessor %p", s.fromCtx, s.accessor)
				}
				return
			}
			if tt.body == "" && w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", w.Header().Get("Cache-Control"))
			}
			if tt.location != "" {
				if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, fake.URL+tt.location) {
					t.Errorf("Location %q, want prefix %q", loc, fake.URL+tt.location)
				}
				if w.Body.Len() != 0 {
					t.Errorf("redirect has a body %q", w.Body)
				}
			}
			if tt.errorID != "" {
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q", ct)
				}
				if tt.status != 502 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
				}
				var e oryErrorBody
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
					t.Fatalf("body %q: %v", w.Body, err)
				}
				if e.Error.ID != tt.errorID || e.Error.Code != tt.status {
					t.Errorf("error %+v, want id %q code %d", e.Error, tt.errorID, tt.status)
				}
			}
			if !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("body %q, want %q in it", w.Body, tt.body)
			}
		})
	}
}

// TestHTTPErrorHandler: API denials reach the app's HTTPErrorHandler as an *echo.HTTPError
// with the decision's status, recognisable as a *DeniedError and by the core's sentinels;
// browser redirects do not go through it.
func TestHTTPErrorHandler(t *testing.T) {
	tests := []struct {
		name     string
		aal2     bool
		header   http.Header
		status   int
		sentinel error
		outcome  core.Outcome
	}{
		{name: "no session", status: 401, sentinel: core.ErrNoSession, outcome: core.Login},
		{name: "step-up", aal2: true, header: http.Header{"X-Session-Token": {fakeory.TokenStepUp}}, status: 403, sentinel: core.ErrAAL2Required, outcome: core.StepUp},
		{name: "browser redirect bypasses the error handler", header: http.Header{"Accept": {"text/html"}}, status: 303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, v := newFake(t)
			var got error
			e := echo.New()
			e.HTTPErrorHandler = func(err error, c echo.Context) {
				got = err
				var denied *orymecho.DeniedError
				if errors.As(err, &denied) {
					_ = c.HTML(http.StatusUnauthorized, `<a href="`+denied.Decision.RedirectTo+`">sign in</a>`)
					return
				}
				e.DefaultHTTPErrorHandler(err, c)
			}
			guard := orymecho.RequireSession(orymecho.WithVerifier(v))
			if tt.aal2 {
				guard = orymecho.RequireAAL2(orymecho.WithVerifier(v))
			}
			var s seen
			e.GET("/r", s.handler, guard)

			w := do(e, http.MethodGet, "/r", tt.header)

			if s.ran.Load() != 0 {
				t.Fatal("handler ran on a denial")
			}
			if tt.sentinel == nil {
				if got != nil || w.Code != tt.status || w.Header().Get("Location") == "" {
					t.Fatalf("error handler saw %v; status %d, Location %q", got, w.Code, w.Header().Get("Location"))
				}
				return
			}
			var he *echo.HTTPError
			if !errors.As(got, &he) || he.Code != tt.status {
				t.Fatalf("error handler saw %#v, want *echo.HTTPError with code %d", got, tt.status)
			}
			if !errors.Is(got, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", got, tt.sentinel)
			}
			var denied *orymecho.DeniedError
			if !errors.As(got, &denied) || denied.Decision.Outcome != tt.outcome {
				t.Fatalf("no DeniedError with outcome %v in %v", tt.outcome, got)
			}
			if strings.Contains(got.Error(), "[123") {
				t.Errorf("Error() prints the body as bytes: %s", got)
			}
			// The app rendered HTML: the core's JSON Content-Type must not have been preset.
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q, want the error handler's text/html", ct)
			}
			if !strings.Contains(w.Body.String(), "/self-service/login/browser") {
				t.Errorf("body %q", w.Body)
			}
		})
	}
}

// TestSkipper: a skipped request reaches the handler without asking Ory; others are guarded.
func TestSkipper(t *testing.T) {
	fake, v := newFake(t)
	var s seen
	e := echo.New()
	skipper := func(c echo.Context) bool { return c.Path() == "/health" }
	e.Use(orymecho.RequireSession(orymecho.WithVerifier(v), orymecho.WithSkipper(skipper)))
	e.GET("/health", s.handler)
	e.GET("/private", s.handler)

	if w := do(e, http.MethodGet, "/health", nil); w.Code != 200 {
		t.Fatalf("skipped route: status %d", w.Code)
	}
	if _, ok := orymecho.Session(nil); ok || s.accessorOK || fake.Calls() != 0 {
		t.Fatalf("skipped route: session %v, whoami calls %d", s.accessorOK, fake.Calls())
	}
	if w := do(e, http.MethodGet, "/private", http.Header{"X-Session-Token": {"unknown"}}); w.Code != 401 || s.ran.Load() != 1 || fake.Calls() != 1 {
		t.Fatalf("guarded route: status %d, handler runs %d, whoami calls %d", w.Code, s.ran.Load(), fake.Calls())
	}
	var nilSkipper middleware.Skipper
	e2 := echo.New()
	e2.GET("/r", s.handler, orymecho.RequireSession(orymecho.WithVerifier(v), orymecho.WithSkipper(nilSkipper)))
	if w := do(e2, http.MethodGet, "/r", nil); w.Code != 401 {
		t.Fatalf("nil skipper: status %d", w.Code)
	}
}

// TestGroupStacking: RequireSession on a group and RequireAAL2 on a route make one whoami
// call, and the route's guard still enforces aal2 on the group's session.
func TestGroupStacking(t *testing.T) {
	tests := []struct {
		token  string
		status int
	}{
		{fakeory.TokenAAL2, 200},
		{fakeory.TokenAAL1, 403},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			fake, v := newFake(t)
			var s seen
			e := echo.New()
			g := e.Group("/x", orymecho.RequireSession(orymecho.WithVerifier(v)))
			g.GET("/aal2", s.handler, orymecho.RequireAAL2(orymecho.WithVerifier(v)))

			w := do(e, http.MethodGet, "/x/aal2", http.Header{"X-Session-Token": {tt.token}})

			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if fake.Calls() != 1 {
				t.Errorf("whoami calls %d, want 1", fake.Calls())
			}
			if tt.status == 200 && (!s.accessorOK || s.fromCtx != s.accessor) {
				t.Errorf("Session(c) %v %v, context %v", s.accessor, s.accessorOK, s.fromCtx)
			}
		})
	}
}

// TestWriteDecision: a deny handler that wants no error flow writes the default response.
func TestWriteDecision(t *testing.T) {
	_, v := newFake(t)
	var handled atomic.Bool
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) { handled.Store(true) }
	var s seen
	e.GET("/r", s.handler, orymecho.RequireSession(orymecho.WithVerifier(v), orymecho.WithDenyHandler(
		func(c echo.Context, d *core.Decision) error {
			orymecho.WriteDecision(c, d)
			return nil
		})))
	w := do(e, http.MethodGet, "/r", nil)
	if w.Code != 401 || handled.Load() || s.ran.Load() != 0 {
		t.Fatalf("status %d, error handler %v, handler runs %d", w.Code, handled.Load(), s.ran.Load())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || !strings.Contains(w.Body.String(), "session_inactive") {
		t.Errorf("Content-Type %q, body %q", ct, w.Body)
	}
}

// TestSessionOutsideEcho: a session that only the request context carries (a guard outside
// echo) is found by Session and reused by an echo guard without asking Ory.
func TestSessionOutsideEcho(t *testing.T) {
	fake, v := newFake(t)
	sess := &ory.Session{Id: "outer", AuthenticatorAssuranceLevel: ory.AUTHENTICATORASSURANCELEVEL_AAL1.Ptr()}
	var s seen
	e := echo.New()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.SetRequest(c.Request().WithContext(core.ContextWithSession(c.Request().Context(), sess)))
			return next(c)
		}
	})
	e.GET("/r", s.handler, orymecho.RequireSession(orymecho.WithVerifier(v)))
	if w := do(e, http.MethodGet, "/r", nil); w.Code != 200 {
		t.Fatalf("status %d; body %s", w.Code, w.Body)
	}
	if s.accessor != sess || fake.Calls() != 0 {
		t.Errorf("Session(c) = %v, whoami calls %d", s.accessor, fake.Calls())
	}
}
