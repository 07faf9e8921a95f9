package conformance

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"
	ory "github.com/ory/client-go"
	"github.com/valyala/fasthttp"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/fiber/v3"
)

// serveFiberV3 runs the conformance app on fiber v3 on a loopback listener; the request's
// context.Context is c.Context().
func serveFiberV3(t testing.TB, a App) string {
	t.Helper()
	app := fiberv3App(a, false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		// A Shutdown that comes before the server has started serving finds nothing to stop:
		// closing the listener ends Listener then, with net.ErrClosed.
		_ = ln.Close()
		if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("listener: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// fastHTTPFiberV3 returns the conformance app on fiber v3 as fasthttp's server calls it, for tests
// that hand it requests (and reuse their buffers) themselves. With rawHeaderNames, fasthttp
// keeps header names in the client's case.
func fastHTTPFiberV3(_ testing.TB, a App, rawHeaderNames bool) fasthttp.RequestHandler {
	return fiberv3App(a, rawHeaderNames).Handler()
}

func fiberv3App(a App, rawHeaderNames bool) *fiber.App {
	v := orymfa.WithVerifier(a.Verifier)
	handle := func(c fiber.Ctx) error {
		s, _ := orymfa.Session(c)
		// A guard stores the session in c.Locals(SessionKey) too; only a session that the
		// request's context carried from the start (contextSession) is not there.
		if s != nil && s != contextSession && fiber.Locals[*ory.Session](c, orymfa.SessionKey) != s {
			return c.Status(http.StatusInternalServerError).SendString("the guard's session is not in c.Locals(SessionKey)")
		}
		fromCtx, _ := core.SessionFromContext(c.Context())
		status, body := a.Handle(s, fromCtx)
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(status).Send(body)
	}
	deny := orymfa.WithDenyHandler(func(c fiber.Ctx, d *orymfa.Decision) error {
		status, body := a.Deny(d)
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(status).Send(body)
	})
	next := orymfa.WithDenyHandler(func(c fiber.Ctx, d *orymfa.Decision) error {
		_ = c.Next() // must not reach the route's handler
		return orymfa.WriteDecision(c, d)
	})
	// fasthttp's default 4 KiB read buffer answers 431 to the suite's 8 KiB token before any
	// middleware runs; a larger one lets the request reach the guard, which must answer 401.
	cfg := fiber.Config{ReadBufferSize: 16 << 10, DisableHeaderNormalizing: rawHeaderNames}
	if a.OnError != nil {
		// The errors of the routes under /errors/ reach app.OnError, which answers.
		cfg.ErrorHandler = func(c fiber.Ctx, err error) error {
			status := http.StatusInternalServerError
			if fe := (*fiber.Error)(nil); errors.As(err, &fe) {
				status = fe.Code
			}
			status, body := a.OnError(err, status, nil)
			if !strings.HasPrefix(c.Path(), "/errors/") {
				return fiber.DefaultErrorHandler(c, err)
			}
			c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
			return c.Status(status).Send(body)
		}
	}
	app := fiber.New(cfg)
	if a.Begin != nil {
		app.Use(func(c fiber.Ctx) error {
			if c.Get("X-Read-Cookie-First") != "" {
				// As app middleware before the guard may (sessions, CSRF): c.Cookies makes
				// fasthttp parse every cookie, which changes how the headers read.
				_ = c.Cookies("theme")
			}
			// Copies: fasthttp reuses the request's buffers once it is done.
			ctx, end := a.begin(c.Context(), Incoming{
				Method:    strings.Clone(c.Method()),
				Path:      strings.Clone(c.Path()),
				Header:    func(k string) string { return c.Get(k) },
				SetHeader: func(k, v string) { c.Set(k, v) },
			})
			defer end()
			c.SetContext(ctx)
			return c.Next()
		})
	}
	app.Get("/public", handle)
	app.Get("/session", orymfa.RequireSession(v), handle)
	app.Get("/aal2", orymfa.RequireAAL2(v), handle)
	app.Post("/aal2", orymfa.RequireAAL2(v), handle)
	app.Get("/fresh", orymfa.RequireAAL2(v, orymfa.WithMaxAge(a.MaxAge)), handle)
	group := app.Group("/group", orymfa.RequireSession(v))
	group.Get("/aal2", orymfa.RequireAAL2(v), handle)
	group.Get("/fresh", orymfa.RequireAAL2(v, orymfa.WithMaxAge(a.MaxAge)), handle)
	app.Group("/two", orymfa.RequireSession(v)).Get("/aal2", orymfa.RequireAAL2(orymfa.WithVerifier(a.Other)), handle)
	app.Get("/api/aal2", orymfa.RequireAAL2(v, orymfa.WithMode(orymfa.ModeAPI)), handle)
	app.Get("/browser/session", orymfa.RequireSession(v, orymfa.WithMode(orymfa.ModeBrowser)), handle)
	app.Get("/custom/aal2", orymfa.RequireAAL2(v, deny), handle)
	app.Get("/next/aal2", orymfa.RequireAAL2(v, next), handle)
	app.Get("/errors/custom/aal2", orymfa.RequireAAL2(v, orymfa.WithDenyHandler(func(c fiber.Ctx, d *orymfa.Decision) error {
		return fmt.Errorf("%w: %w", errDeniedByApp, d.Err)
	})), handle)
	skip := orymfa.WithNext(func(c fiber.Ctx) bool { return c.Get("X-Skip") == "1" })
	app.Get("/skip/aal2", orymfa.RequireAAL2(skip, v), handle)
	app.Get("/skip/custom/aal2", orymfa.RequireAAL2(deny, v, skip), handle)
	return app
}

// zeroFiberV3 builds a guard with no options, as the zero-config user does.
func zeroFiberV3(aal2 bool) {
	if aal2 {
		orymfa.RequireAAL2()
		return
	}
	orymfa.RequireSession()
}
