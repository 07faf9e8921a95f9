package orymfa_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	orymfa "github.com/orymfa/orymfa/gin"
	"github.com/orymfa/orymfa/orymfatest"
)

// A browser's Cookie header as apps see it: Kratos's session cookie (about 430 bytes) among the
// app's own cookies.
func browserCookies(c *http.Cookie) string {
	return "_ga=GA1.1.2094823482.1732451234; theme=dark; csrf_token=Zk9tYjN2cUlPd2R0a1pQb0F3d0lUbmFqRkZ5a3hJbWU; " +
		c.Name + "=" + c.Value + "; app_session=6f1c2b0e9a7d4c3b8e5f1a2d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b; lang=en-GB"
}

// benchRequests are what users send: a browser with the session cookie, an API client with a
// 39-byte ory_st_ session token.
func benchRequests(srv *orymfatest.Server, token string) map[string]*http.Request {
	cookie := httptest.NewRequest(http.MethodGet, "/r", nil)
	cookie.Header.Set("Cookie", browserCookies(srv.Cookie(token)))
	cookie.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	tok := httptest.NewRequest(http.MethodGet, "/r", nil)
	tok.Header.Set("X-Session-Token", token)
	tok.Header.Set("Accept", "application/json")
	return map[string]*http.Request{"cookie": cookie, "token": tok}
}

func handler(c *gin.Context) { c.Status(http.StatusNoContent) }

// BenchmarkBare and BenchmarkCached run side by side in one `go test -bench` run: the same
// route without a guard, and behind RequireAAL2 with the session in the verifier's cache.
func BenchmarkBare(b *testing.B) {
	srv := orymfatest.NewServer(b)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	r := gin.New()
	r.GET("/r", handler)
	for name, req := range benchRequests(srv, token) {
		b.Run(name, func(b *testing.B) { bench(b, r, req) })
	}
}

func BenchmarkCached(b *testing.B) {
	srv := orymfatest.NewServer(b)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	v := orymfa.MustNew(orymfa.Config{SDKURL: srv.URL, AppURL: "https://app.example", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	r := gin.New()
	r.GET("/r", orymfa.RequireAAL2(orymfa.WithVerifier(v)), handler)
	for name, req := range benchRequests(srv, token) {
		b.Run(name, func(b *testing.B) {
			bench(b, r, req) // the first warm-up asks Ory; every other request is a cache hit
			if n := srv.Calls(); n > 2 {
				b.Errorf("%d whoami calls, want one per credential (the warm-ups)", n)
			}
		})
	}
}

// bench serves req through r per iteration, in-process, after one warm-up request.
func bench(b *testing.B, r *gin.Engine, req *http.Request) {
	b.Helper()
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusNoContent {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		r.ServeHTTP(discard{}, req)
	}
}

// discard is a ResponseWriter that allocates nothing, so the numbers are the middleware's.
type discard struct{}

var discardHeader = http.Header{}

func (discard) Header() http.Header         { return discardHeader }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}
