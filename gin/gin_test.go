package gin_test

import (
	"context"
	"encoding/json"
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

type oryErrorBody struct {
	Error struct {
		ID   string `json:"id"`
		Code int    `json:"code"`
	} `json:"error"`
	RedirectBrowserTo string `json:"redirect_browser_to"`
}

func TestMiddleware(t *testing.T) {
	teapot := orymgin.WithDenyHandler(func(c *gin.Context, d *core.Decision) {
		c.JSON(http.StatusTeapot, gin.H{"outcome": d.Outcome.String()})
	})
	tests := []struct {
		name     string
		aal2     bool
		opts     []orymgin.Option
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
		{name: "api mode forces JSON", opts: []orymgin.Option{orymgin.WithMode(core.ModeAPI)}, header: http.Header{"Accept": {"text/html"}}, status: 401, errorID: "session_inactive"},
		{name: "deny handler", aal2: true, opts: []orymgin.Option{teapot}, header: http.Header{"X-Session-Token": {fakeory.TokenAAL1}}, status: http.StatusTeapot, body: `"outcome":"enroll"`},
		{name: "deny handler not used when allowed", opts: []orymgin.Option{teapot}, header: http.Header{"X-Session-Token": {fakeory.TokenAAL1}}, status: 200, ran: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, v := newFake(t)
			if tt.fake500 {
				fake.Respond(func(w http.ResponseWriter, _ *http.Request) { fakeory.WriteError(w, 500, "") })
			}
			opts := append([]orymgin.Option{orymgin.WithVerifier(v)}, tt.opts...)
			guard := orymgin.RequireSession(opts...)
			if tt.aal2 {
				guard = orymgin.RequireAAL2(opts...)
			}
			var s seen
			r := gin.New()
			r.GET("/r", guard, s.handler)

			req := httptest.NewRequest(http.MethodGet, "/r?q=1", nil)
			for k, vs := range tt.header {
				req.Header[k] = vs
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)

			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if got := s.ran.Load() == 1; got != tt.ran {
				t.Fatalf("handler ran: %v, want %v", got, tt.ran)
			}
			// Without a credential the core knows the answer and does not ask Ory.
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
				if ct, ok := w.Header()["Content-Type"]; ok {
					t.Errorf("redirect has Content-Type %q", ct)
				}
			}
			if tt.errorID != "" {
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q", ct)
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

// A session cookie is forwarded to Ory, the app's other cookies are not.
func TestOnlyOryCookieForwarded(t *testing.T) {
	fake, v := newFake(t)
	r := gin.New()
	r.GET("/r", orymgin.RequireSession(orymgin.WithVerifier(v)), func(c *gin.Context) { c.Status(http.StatusNoContent) })
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	req.Header.Set("Cookie", "app_secret=x; "+fakeory.CookieName+"="+fakeory.CookieAAL1)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusNoContent {
		t.Fatalf("status %d", w.Code)
	}
	if got := fake.Cookies(); len(got) != 1 || strings.Contains(got[0], "app_secret") {
		t.Errorf("cookies sent to Ory: %q", got)
	}
}

func TestStacking(t *testing.T) {
	tests := []struct {
		name   string
		token  string
		status int
		ran    bool
	}{
		{"aal2 passes both", fakeory.TokenAAL2, 200, true},
		{"aal1 passes the group, not the route", fakeory.TokenAAL1, 403, false},
		{"no session stops at the group", "", 401, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, v := newFake(t)
			var s seen
			r := gin.New()
			g := r.Group("/x", orymgin.RequireSession(orymgin.WithVerifier(v)))
			g.GET("/aal2", orymgin.RequireAAL2(orymgin.WithVerifier(v)), s.handler)

			req := httptest.NewRequest(http.MethodGet, "/x/aal2", nil)
			if tt.token != "" {
				req.Header.Set("X-Session-Token", tt.token)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != tt.status || (s.ran.Load() == 1) != tt.ran {
				t.Fatalf("status %d ran %d, want %d %v", w.Code, s.ran.Load(), tt.status, tt.ran)
			}
			if fake.Calls() > 1 {
				t.Errorf("whoami calls %d, want at most 1 per request", fake.Calls())
			}
			if tt.ran && (s.accessor == nil || s.fromCtx != s.accessor) {
				t.Errorf("accessor %p, context %p", s.accessor, s.fromCtx)
			}
		})
	}
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
