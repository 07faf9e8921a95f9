package gin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/orymfa/orymfa/core"
	orymgin "github.com/orymfa/orymfa/gin"
	"github.com/orymfa/orymfa/internal/fakeory"
)

// bench serves one GET /r through r per iteration, in-process, with the aal2 session token.
func bench(b *testing.B, r *gin.Engine) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	req.Header.Set("X-Session-Token", fakeory.TokenAAL2)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req) // warm-up: fills the verifier's cache when it has one
	if w.Code != http.StatusNoContent {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		r.ServeHTTP(discard{}, req)
	}
}

func handler(c *gin.Context) { c.Status(http.StatusNoContent) }

// BenchmarkBare is the baseline: the same route without a guard.
func BenchmarkBare(b *testing.B) {
	r := gin.New()
	r.GET("/r", handler)
	bench(b, r)
}

// BenchmarkCached is RequireAAL2 with the session already in the verifier's cache.
func BenchmarkCached(b *testing.B) {
	fake := fakeory.New()
	defer fake.Close()
	v := core.MustNew(core.Config{SDKURL: fake.URL})
	r := gin.New()
	r.GET("/r", orymgin.RequireAAL2(orymgin.WithVerifier(v)), handler)
	bench(b, r)
	if fake.Calls() != 1 {
		b.Errorf("whoami calls %d, want 1 (the warm-up)", fake.Calls())
	}
}

// BenchmarkCold asks the fake over loopback on every request.
func BenchmarkCold(b *testing.B) {
	fake := fakeory.New()
	defer fake.Close()
	v := core.MustNew(core.Config{SDKURL: fake.URL, Cache: core.CacheConfig{Disabled: true}})
	r := gin.New()
	r.GET("/r", orymgin.RequireAAL2(orymgin.WithVerifier(v)), handler)
	bench(b, r)
}

// discard is a ResponseWriter that allocates nothing, so the numbers are the middleware's.
type discard struct{}

var discardHeader = http.Header{}

func (discard) Header() http.Header         { return discardHeader }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}
