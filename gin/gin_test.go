package gin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	orymgin "github.com/orymfa/orymfa/gin"
	"github.com/orymfa/orymfa/internal/fakeory"
)

func init() { gin.SetMode(gin.TestMode) }

// newFake starts the fake whoami server and a verifier for it. The cache is disabled so that
// every whoami call the middleware makes shows in fake.Calls().
func newFake(t *testing.T) (*fakeory.Server, *core.Verifier) {
	t.Helper()
	fake := fakeory.New()
	t.Cleanup(fake.Close)
	v := core.MustNew(core.Config{
		SDKURL:  fake.URL,
		Cache:   core.CacheConfig{Disabled: true},
		OnError: func(_ context.Context, err error) { t.Log(err) },
	})
	return fake, v
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
	s.accessor, s.accessorOK = orymgin.Session(c)
	s.fromCtx, _ = core.SessionFromContext(c.Request.Context())
	c.String(http.StatusOK, "ok")
}

// A denial aborts the whole chain: neither later middleware nor the handler runs, even when
// a deny handler calls c.Next.
func TestDenialAbortsChain(t *testing.T) {
	tests := []struct {
		name string
		opts []orymgin.Option
	}{
		{"default response", nil},
		{"deny handler calling Next", []orymgin.Option{orymgin.WithDenyHandler(func(c *gin.Context, d *core.Decision) {
			c.Next()
			orymgin.WriteDecision(c, d)
		})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, v := newFake(t)
			var later, ran atomic.Int64
			r := gin.New()
			r.Use(orymgin.RequireAAL2(append(tt.opts, orymgin.WithVerifier(v))...))
			r.Use(func(c *gin.Context) { later.Add(1); c.Next() })
			r.GET("/r", func(c *gin.Context) { ran.Add(1) })

			req := httptest.NewRequest(http.MethodGet, "/r", nil)
			req.Header.Set("X-Session-Token", fakeory.TokenStepUp)
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
			c.Set(orymgin.SessionKey, "nope")
			return c
		}, nil},
		{"typed nil under key", func() *gin.Context {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Set(orymgin.SessionKey, (*ory.Session)(nil))
			return c
		}, nil},
		{"from c.Set", func() *gin.Context {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Set(orymgin.SessionKey, s)
			return c
		}, s},
		{"only in the request context (guard outside gin)", func() *gin.Context {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			c.Request = r.WithContext(core.ContextWithSession(r.Context(), s))
			return c
		}, s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := orymgin.Session(tt.ctx())
			if got != tt.want || ok != (tt.want != nil) {
				t.Errorf("Session = %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
}

// The gin context is a context.Context too: c.Value(SessionKey) finds the session.
func TestGinContextValue(t *testing.T) {
	_, v := newFake(t)
	var got any
	r := gin.New()
	r.GET("/r", orymgin.RequireSession(orymgin.WithVerifier(v)), func(c *gin.Context) { got = c.Value(orymgin.SessionKey) })
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	req.Header.Set("X-Session-Token", fakeory.TokenAAL1)
	r.ServeHTTP(httptest.NewRecorder(), req)
	if s, ok := got.(*ory.Session); !ok || s.Identity.Id != fakeory.IdentityID {
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
	orymgin.RequireSession()
}

func fmtAny(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	s, _ := v.(string)
	return s
}
