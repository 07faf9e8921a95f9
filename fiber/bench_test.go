package fiber_test

import (
	"net/http"
	"testing"

	gofiber "github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/fiber"
	"github.com/orymfa/orymfa/internal/fakeory"
)

// The benchmarks drive app.Handler() in process with one fasthttp.RequestCtx reused across
// iterations, as fasthttp's server does, so they measure the middleware and not app.Test's
// in-memory connection.

func benchOK(c *gofiber.Ctx) error { return c.SendString("ok") }

// benchHandler builds an app serving GET /r behind guard (none when nil).
func benchHandler(guard gofiber.Handler) fasthttp.RequestHandler {
	app := gofiber.New()
	if guard != nil {
		app.Get("/r", guard, benchOK)
	} else {
		app.Get("/r", benchOK)
	}
	return app.Handler()
}

func runBench(b *testing.B, h fasthttp.RequestHandler) {
	var fc fasthttp.RequestCtx
	fc.Request.Header.SetMethod(http.MethodGet)
	fc.Request.SetRequestURI("/r")
	fc.Request.Header.Set("X-Session-Token", fakeory.TokenAAL2)
	fc.Request.Header.Set("Accept", "application/json")
	serve := func() {
		h(&fc)
		// fasthttp's server clears Locals and the user context after each request.
		fc.ResetUserValues()
	}
	serve() // warms the verifier's cache where there is one
	if fc.Response.StatusCode() != http.StatusOK {
		b.Fatalf("status %d: %s", fc.Response.StatusCode(), fc.Response.Body())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serve()
	}
	if fc.Response.StatusCode() != http.StatusOK {
		b.Fatalf("status %d: %s", fc.Response.StatusCode(), fc.Response.Body())
	}
}

func BenchmarkBare(b *testing.B) { runBench(b, benchHandler(nil)) }

func BenchmarkCached(b *testing.B) {
	fake := fakeory.New()
	defer fake.Close()
	v := core.MustNew(core.Config{SDKURL: fake.URL})
	runBench(b, benchHandler(fiber.RequireAAL2(fiber.WithVerifier(v))))
	if n := fake.Calls(); n != 1 {
		b.Fatalf("whoami calls = %d, want 1 (the warm-up)", n)
	}
}

func BenchmarkCold(b *testing.B) {
	fake := fakeory.New()
	defer fake.Close()
	v := core.MustNew(core.Config{SDKURL: fake.URL, Cache: core.CacheConfig{Disabled: true}})
	runBench(b, benchHandler(fiber.RequireAAL2(fiber.WithVerifier(v))))
}
