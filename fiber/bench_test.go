package orymfa_test

import (
	"bufio"
	"bytes"
	"log/slog"
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	orymfa "github.com/orymfa/orymfa/fiber"
	"github.com/orymfa/orymfa/orymfatest"
)

// The benchmarks drive app.Handler() in process with one fasthttp.RequestCtx reused across
// iterations, as fasthttp's server does for a connection, so they measure the middleware and
// not a network. Each iteration reads the request from its bytes again, as the server does:
// what fasthttp parses lazily (the cookies) is then parsed per request here too, so a guard
// that makes fasthttp do more work per request pays for it. Bare and Cached serve the same
// requests in the same run: Cached minus Bare is what the guard costs on its cached path.

// benchAccept is what a browser sends for a navigation.
const benchAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// benchRequest is one of the benchmarked requests, for the session of token.
type benchRequest struct {
	name string
	set  func(h *fasthttp.RequestHeader, srv *orymfatest.Server, token string)
}

var benchRequests = []benchRequest{
	{"cookie", func(h *fasthttp.RequestHeader, srv *orymfatest.Server, token string) {
		c := srv.Cookie(token) // Kratos-sized, among a typical app's cookies
		h.Set("Cookie", "_ga=GA1.1.2094823482.1732451234; theme=dark; csrf_token=Zk9tYjN2cUlPd2R0a1pQb0F3d0lUbmFqRkZ5a3hJbWU; "+c.Name+"="+c.Value+"; app_session=6f1c2b0e9a7d4c3b8e5f1a2d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b; lang=en-GB")
		h.Set("Accept", benchAccept)
	}},
	{"token", func(h *fasthttp.RequestHeader, _ *orymfatest.Server, token string) {
		h.Set("X-Session-Token", token)
		h.Set("Accept", "application/json")
	}},
}

func benchOK(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) }

// runBench serves GET /r with guard in front of the handler (none when nil).
func runBench(b *testing.B, guard fiber.Handler, srv *orymfatest.Server, token string, req benchRequest) {
	app := fiber.New()
	if guard != nil {
		app.Get("/r", guard, benchOK)
	} else {
		app.Get("/r", benchOK)
	}
	h := app.Handler()

	var r fasthttp.Request
	r.Header.SetMethod(http.MethodGet)
	r.SetRequestURI("/r")
	r.Header.SetHost("app.example")
	r.Header.SetUserAgent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	req.set(&r.Header, srv, token)
	raw := []byte(r.String())
	var (
		fc fasthttp.RequestCtx
		rd bytes.Reader
		br = bufio.NewReader(&rd)
	)
	serve := func() {
		rd.Reset(raw)
		br.Reset(&rd)
		fc.Request.Reset()
		if err := fc.Request.Read(br); err != nil {
			b.Fatal(err)
		}
		h(&fc)
		fc.ResetUserValues() // fasthttp's server clears Locals and the request context after each request
	}
	serve() // warms the verifier's cache
	if fc.Response.StatusCode() != http.StatusNoContent {
		b.Fatalf("status %d: %s", fc.Response.StatusCode(), fc.Response.Body())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serve()
	}
	b.StopTimer()
	if fc.Response.StatusCode() != http.StatusNoContent {
		b.Fatalf("status %d: %s", fc.Response.StatusCode(), fc.Response.Body())
	}
}

// aal2Session starts a fake Ory with an aal2 session and returns its token.
func aal2Session(b *testing.B) (*orymfatest.Server, string) {
	srv := orymfatest.NewServer(b)
	return srv, srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
}

// BenchmarkBare is the app without a guard, for the same requests.
func BenchmarkBare(b *testing.B) {
	for _, req := range benchRequests {
		b.Run(req.name, func(b *testing.B) {
			srv, token := aal2Session(b)
			runBench(b, nil, srv, token, req)
		})
	}
}

// BenchmarkCached is RequireAAL2 with the default cache, warmed by one request: every
// iteration is a cache hit.
func BenchmarkCached(b *testing.B) {
	for _, req := range benchRequests {
		b.Run(req.name, func(b *testing.B) {
			srv, token := aal2Session(b)
			v := orymfa.MustNew(orymfa.Config{SDKURL: srv.URL, Logger: slog.New(slog.DiscardHandler)})
			runBench(b, orymfa.RequireAAL2(orymfa.WithVerifier(v)), srv, token, req)
			if n := srv.Calls(); n != 1 {
				b.Fatalf("whoami calls = %d, want 1 (the warm-up)", n)
			}
		})
	}
}
