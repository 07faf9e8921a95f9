package orymfa_test

// What the adapters share (credentials, stacked guards, the accessors and the request's
// context, denials, Ory failing, setup errors, many users at once) runs in the conformance
// table against real Kratos and the kit (internal/conformance). Here is what only gin has:
// c.Abort, the gin context's own store and its nil cases.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	ory "github.com/ory/client-go"

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
