package echo_test

import (
	"context"
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

func do(e *echo.Echo, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	return w
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
