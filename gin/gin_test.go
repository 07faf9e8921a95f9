package orymfa_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/gin"
	"github.com/orymfa/orymfa/orymfatest"
)

func init() { gin.SetMode(gin.TestMode) }

// newKit starts the test kit and a verifier for it. The cache is disabled so that every
// whoami call the middleware makes shows in srv.Calls().
func newKit(t *testing.T) (*orymfatest.Server, *orymfa.Verifier) {
	t.Helper()
	srv := orymfatest.NewServer(t)
	v := orymfa.MustNew(orymfa.Config{
		SDKURL:  srv.URL,
		AppURL:  "https://app.example",
		Cache:   orymfa.CacheConfig{Disabled: true},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnError: func(_ context.Context, err error) { t.Log(err) },
	})
	return srv, v
}

// seen is what the handler observed.
type seen struct {
	ran        atomic.Int64
	accessor   *ory.Session
	fromCtx    *ory.Session
	accessorOK bool
}

func (s *seen) handler(c *gin.Context) {
	s.ran.Add(1)
	s.accessor, s.accessorOK = orymfa.Session(c)
	s.fromCtx, _ = core.SessionFromContext(c.Request.Context())
	c.String(http.StatusOK, "ok")
}

// A denial aborts the whole chain: neither later middleware nor the handler runs, even when
// a deny handler calls c.Next.
func TestDenialAbortsChain(t *testing.T) {
	tests := []struct {
		name string
		opts []orymfa.Option
	}{
		{"default response", nil},
		{"deny handler calling Next", []orymfa.Option{orymfa.WithDenyHandler(func(c *gin.Context, d *orymfa.Decision) {
			c.Next()
			orymfa.WriteDecision(c, d)
		})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, v := newKit(t)
			token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
			var later, ran atomic.Int64
			r := gin.New()
			r.Use(orymfa.RequireAAL2(append(tt.opts, orymfa.WithVerifier(v))...))
			r.Use(func(c *gin.Context) { later.Add(1); c.Next() })
			r.GET("/r", func(c *gin.Context) { ran.Add(1) })

			req := httptest.NewRequest(http.MethodGet, "/r", nil)
			req.Header.Set("X-Session-Token", token)
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != http.StatusForbidden {
				t.Errorf("status %d, want 403", w.Code)
			}
			if later.Load() != 0 || ran.Load() != 0 {
				t.Errorf("later middleware ran %d, handler ran %d", later.Load(), ran.Load())
			}
		})
	}
}

func TestSessionAccessor(t *testing.T) {
	s := &ory.Session{Id: "s"}
	tests := []struct {
		name string
		ctx  func() *gin.Context
		want *ory.Session
	}{
		{"nil context", func() *gin.Context { return nil }, nil},
		{"no request, no keys", func() *gin.Context { return &gin.Context{} }, nil},
		{"no session", func() *gin.Context {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
			return c
		}, nil},
		{"wrong type under key", func() *gin.Context {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Set(orymfa.SessionKey, "nope")
			return c
		}, nil},
		{"typed nil under key", func() *gin.Context {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Set(orymfa.SessionKey, (*ory.Session)(nil))
			return c
		}, nil},
		{"from c.Set", func() *gin.Context {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Set(orymfa.SessionKey, s)
			return c
		}, s},
		{"only in the request context (guard outside gin, or a handler test)", func() *gin.Context {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Request = orymfatest.WithSession(httptest.NewRequest(http.MethodGet, "/", nil), s)
			return c
		}, s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := orymfa.Session(tt.ctx())
			if got != tt.want || ok != (tt.want != nil) {
				t.Errorf("Session = %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
}

// The gin context is a context.Context too: c.Value(SessionKey) finds the session.
func TestGinContextValue(t *testing.T) {
	srv, v := newKit(t)
	user := srv.NewIdentity()
	var got any
	r := gin.New()
	r.GET("/r", orymfa.RequireSession(orymfa.WithVerifier(v)), func(c *gin.Context) { got = c.Value(orymfa.SessionKey) })
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	req.Header.Set("X-Session-Token", srv.SignIn(user, orymfatest.AAL1))
	r.ServeHTTP(httptest.NewRecorder(), req)
	if s, ok := got.(*ory.Session); !ok || s.Identity.Id != user.ID {
		t.Errorf("c.Value(SessionKey) = %v", got)
	}
}

func TestMisconfigurationPanicsAtSetup(t *testing.T) {
	t.Setenv(core.EnvSDKURL, "")
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmtAny(r), core.EnvSDKURL) {
			t.Errorf("panic %v, want a message naming %s", r, core.EnvSDKURL)
		}
	}()
	orymfa.RequireSession()
}

func fmtAny(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	s, _ := v.(string)
	return s
}

// Guard options configure core.NewGuard; passing them to Middleware is a setup error.
func TestMiddlewareRefusesGuardOptions(t *testing.T) {
	_, v := newKit(t)
	g := core.MustGuard(core.RequireAAL2, core.WithVerifier(v))
	for _, opt := range []orymfa.Option{orymfa.WithMaxAge(1), orymfa.WithVerifier(v), orymfa.WithMode(orymfa.ModeAPI)} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmtAny(r), "core.NewGuard") {
					t.Errorf("Middleware with a guard option: panic %v", r)
				}
			}()
			orymfa.Middleware(g, opt)
		}()
	}
	orymfa.Middleware(g, orymfa.WithDenyHandler(func(*gin.Context, *orymfa.Decision) {})) // fine
}

// Stacked guards (a group and a route) ask Ory once per request, allowed or denied, and the
// route's handler sees the session in c.Get and in the request context.
func TestStackedGuardsAskOnce(t *testing.T) {
	srv, v := newKit(t)
	user := srv.NewIdentity(orymfatest.WithSecondFactor())
	token := srv.SignIn(user, orymfatest.AAL1)
	var s seen
	r := gin.New()
	r.Group("/g", orymfa.RequireSession(orymfa.WithVerifier(v))).GET("/r", orymfa.RequireAAL2(orymfa.WithVerifier(v)), s.handler)
	req := httptest.NewRequest(http.MethodGet, "/g/r", nil)
	req.Header.Set("X-Session-Token", token)
	for i, want := range []int{http.StatusForbidden, http.StatusOK} {
		if i == 1 {
			srv.StepUp(token)
		}
		calls := srv.Calls()
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != want || srv.Calls()-calls != 1 {
			t.Fatalf("stacked: %d with %d whoami calls, want %d with 1", w.Code, srv.Calls()-calls, want)
		}
	}
	if s.ran.Load() != 1 || !s.accessorOK || s.accessor.Identity.Id != user.ID || s.fromCtx != s.accessor {
		t.Fatalf("handler saw %+v", &s)
	}
}

// Many concurrent requests of different users: each handler sees its own identity.
func TestConcurrentIdentities(t *testing.T) {
	srv := orymfatest.NewServer(t)
	v := orymfa.MustNew(orymfa.Config{SDKURL: srv.URL, AppURL: "https://app.example", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	r := gin.New()
	r.GET("/r", orymfa.RequireSession(orymfa.WithVerifier(v)), func(c *gin.Context) {
		s, _ := orymfa.Session(c)
		c.String(http.StatusOK, s.Identity.Id)
	})
	type user struct{ id, token, cookie string }
	var users []user
	for range 16 {
		id := srv.NewIdentity()
		token := srv.SignIn(id, orymfatest.AAL2)
		users = append(users, user{id.ID, token, srv.Cookie(token).String()})
	}
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			for i := range 50 {
				u := users[(w+i)%len(users)]
				req := httptest.NewRequest(http.MethodGet, "/r", nil)
				if i%2 == 0 {
					req.Header.Set("X-Session-Token", u.token)
				} else {
					req.Header.Set("Cookie", "theme=dark; "+u.cookie)
				}
				rec := httptest.NewRecorder()
				r.ServeHTTP(rec, req)
				if rec.Code != 200 || rec.Body.String() != u.id {
					t.Errorf("user %s got %d %q", u.id, rec.Code, rec.Body)
					return
				}
			}
		})
	}
	wg.Wait()
}

// A browser navigation while Ory is down gets a page, not JSON, and a 503 says when to retry.
func TestUnavailablePage(t *testing.T) {
	srv, v := newKit(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	srv.SetFault(orymfatest.Down)
	r := gin.New()
	r.GET("/r", orymfa.RequireSession(orymfa.WithVerifier(v)), func(c *gin.Context) { t.Error("handler ran") })
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(srv.Cookie(token))
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
}
