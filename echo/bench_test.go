package echo_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/orymfa/orymfa/core"
	orymecho "github.com/orymfa/orymfa/echo"
	"github.com/orymfa/orymfa/internal/fakeory"
)

// discard is a ResponseWriter that keeps nothing, so the benchmarks measure the middleware
// rather than httptest.ResponseRecorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// bench serves GET /r with the given middleware (none for the bare handler) b.N times.
func bench(b *testing.B, mw ...echo.MiddlewareFunc) {
	e := echo.New()
	e.GET("/r", func(c echo.Context) error { return c.String(http.StatusOK, "ok") }, mw...)
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	req.Header.Set("X-Session-Token", fakeory.TokenAAL2)
	w := &discard{h: http.Header{}}
	e.ServeHTTP(w, req) // warms the verifier's cache
	if w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.code = 0
		e.ServeHTTP(w, req)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

func benchFake(b *testing.B) *fakeory.Server {
	fake := fakeory.New()
	b.Cleanup(fake.Close)
	fake.Respond(answerLikeKratos)
	return fake
}

// BenchmarkBare is the handler without a guard, the baseline for the others.
func BenchmarkBare(b *testing.B) { bench(b) }

// BenchmarkCached is RequireAAL2 with the session in the verifier's cache: no whoami call.
func BenchmarkCached(b *testing.B) {
	v := core.MustNew(core.Config{SDKURL: benchFake(b).URL})
	bench(b, orymecho.RequireAAL2(orymecho.WithVerifier(v)))
}

// BenchmarkCold is RequireAAL2 without a cache: every request asks the fake over loopback.
func BenchmarkCold(b *testing.B) {
	v := core.MustNew(core.Config{SDKURL: benchFake(b).URL, Cache: core.CacheConfig{Disabled: true}})
	bench(b, orymecho.RequireAAL2(orymecho.WithVerifier(v)))
}
