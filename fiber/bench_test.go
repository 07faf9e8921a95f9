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
// that makes fasthttp do more work per request pays for it.

// benchSessions is how many distinct aal2 sessions the benchmarks cycle through, so a cached
// request finds its session among many, as on a server with many users.
const benchSessions = 1000

// benchRequests returns the bytes of one GET /r per session of srv, as users send it: a
// browser navigation whose Cookie header carries Ory's session cookie (Kratos-sized, about 430
// bytes) among the app's own cookies, or an API call with an ory_st_ session token.
func benchRequests(srv *orymfatest.Server, cred string) [][]byte {
	raws := make([][]byte, benchSessions)
	for i := range raws {
		token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
		var r fasthttp.Request
		r.Header.SetMethod(http.MethodGet)
		r.SetRequestURI("/r")
		r.Header.SetHost("app.example")
		r.Header.SetUserAgent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
		switch cred {
		case "cookie":
			c := srv.Cookie(token)
			r.Header.Set("Cookie", "_ga=GA1.1.2094823482.1732451234; theme=dark; csrf_token=Zk9tYjN2cUlPd2R0a1pQb0F3d0lUbmFqRkZ5a3hJbWU; "+
				c.Name+"="+c.Value+"; app_session=6f1c2b0e9a7d4c3b8e5f1a2d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b; lang=en-GB")
			r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		case "token":
			r.Header.Set("X-Session-Token", token)
			r.Header.Set("Accept", "application/json")
		}
		raws[i] = []byte(r.String())
	}
	return raws
}

func noContent(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) }

// serve answers every request once (the guard's cache fills), then times b.N requests, each
// the next session's, through one reused RequestCtx.
func serve(b *testing.B, app *fiber.App, raws [][]byte) {
	b.Helper()
	h := app.Handler()
	var (
		fc fasthttp.RequestCtx
		rd bytes.Reader
		br = bufio.NewReader(&rd)
	)
	one := func(raw []byte) {
		rd.Reset(raw)
		br.Reset(&rd)
		fc.Request.Reset()
		fc.Response.Reset()
		if err := fc.Request.Read(br); err != nil {
			b.Fatal(err)
		}
		h(&fc)
		fc.ResetUserValues() // fasthttp's server clears Locals and the request context after each request
	}
	for _, raw := range raws {
		one(raw)
		if fc.Response.StatusCode() != http.StatusNoContent {
			b.Fatalf("status %d: %s", fc.Response.StatusCode(), fc.Response.Body())
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		one(raws[i%len(raws)])
		i++
	}
	if fc.Response.StatusCode() != http.StatusNoContent {
		b.Fatalf("status %d: %s", fc.Response.StatusCode(), fc.Response.Body())
	}
}

// BenchmarkGuard serves GET /r through a fiber app in process for many distinct aal2
// sessions, by cookie and by token, in two cases of one run: bare (the handler alone) and
// cached (RequireAAL2 on the route with every session in the verifier's cache: no call to
// Ory). The sub-benchmarks are named for benchstat:
//
//	go test -run '^$' -bench Guard -benchmem -count 6 . | tee new.txt
//	go tool -modfile=$(git rev-parse --show-toplevel)/benchmarks/go.mod benchstat -col /case new.txt
func BenchmarkGuard(b *testing.B) {
	srv := orymfatest.NewServer(b)
	v := orymfa.MustNew(orymfa.Config{SDKURL: srv.URL, AppURL: "https://app.example", Logger: slog.New(slog.DiscardHandler)})
	for _, cred := range []string{"cookie", "token"} {
		raws := benchRequests(srv, cred)
		b.Run("cred="+cred+"/case=bare", func(b *testing.B) {
			app := fiber.New()
			app.Get("/r", noContent)
			serve(b, app, raws)
		})
		b.Run("cred="+cred+"/case=cached", func(b *testing.B) {
			app := fiber.New()
			app.Get("/r", orymfa.RequireAAL2(orymfa.WithVerifier(v)), noContent)
			before := srv.Calls()
			serve(b, app, raws)
			// The warm-up asks Ory once per session at most; the timed requests never do.
			if n := srv.Calls() - before; n > len(raws) {
				b.Fatalf("%d whoami calls for %d sessions", n, len(raws))
			}
		})
	}
}
