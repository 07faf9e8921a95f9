package orymfa_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	orymfa "github.com/orymfa/orymfa/echo"
	"github.com/orymfa/orymfa/orymfatest"
)

// discard is a ResponseWriter that keeps nothing and allocates nothing, so the benchmarks
// measure the middleware rather than httptest.ResponseRecorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// benchCookie is the Cookie header of a browser on an app behind Ory: analytics, preferences
// and CSRF cookies around the Ory session cookie.
func benchCookie(c *http.Cookie) string {
	return "_ga=GA1.1.2094823482.1732451234; theme=dark; csrf_token=Zk9tYjN2cUlPd2R0a1pQb0F3d0lUbmFqRkZ5a3hJbWU; " +
		c.Name + "=" + c.Value + "; app_session=6f1c2b0e9a7d4c3b8e5f1a2d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b; lang=en-GB"
}

// benchRequest is a request with an aal2 session of srv: a browser navigation with the
// session cookie, or an API call with the session token.
func benchRequest(b *testing.B, srv *orymfatest.Server, kind string) *http.Request {
	tok := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	switch kind {
	case "cookie":
		req.Header.Set("Cookie", benchCookie(srv.Cookie(tok)))
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	case "token":
		req.Header.Set("X-Session-Token", tok)
		req.Header.Set("Accept", "application/json")
	default:
		b.Fatalf("unknown credential %q", kind)
	}
	return req
}

// bench serves GET /r (204) with the given middleware (none for the bare handler) b.N times,
// after one warming request.
func bench(b *testing.B, req *http.Request, mw ...echo.MiddlewareFunc) {
	e := echo.New()
	e.GET("/r", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, mw...)
	w := &discard{h: http.Header{}}
	e.ServeHTTP(w, req) // warms the verifier's cache
	if w.code != http.StatusNoContent {
		b.Fatalf("status %d", w.code)
	}
	b.ReportAllocs()
	for b.Loop() {
		w.code = 0
		e.ServeHTTP(w, req)
		if w.code != http.StatusNoContent {
			b.Fatalf("status %d", w.code)
		}
	}
}

var credentials = []string{"cookie", "token"}

// BenchmarkBare is the handler without a guard, the baseline for BenchmarkCached: the same
// requests, credentials included.
func BenchmarkBare(b *testing.B) {
	for _, kind := range credentials {
		b.Run(kind, func(b *testing.B) {
			bench(b, benchRequest(b, orymfatest.NewServer(b), kind))
		})
	}
}

// BenchmarkCached is RequireAAL2 with the default cache, warmed by one request: no whoami call
// while measuring.
func BenchmarkCached(b *testing.B) {
	for _, kind := range credentials {
		b.Run(kind, func(b *testing.B) {
			srv := orymfatest.NewServer(b)
			v, err := orymfa.New(orymfa.Config{SDKURL: srv.URL, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			bench(b, benchRequest(b, srv, kind), orymfa.RequireAAL2(orymfa.WithVerifier(v)))
			if n := srv.Calls(); n != 1 {
				b.Fatalf("whoami calls: %d, want 1 (the warming request)", n)
			}
		})
	}
}
