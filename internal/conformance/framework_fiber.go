package conformance

import (
	"net"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/fiber"
)

// serveFiber runs the conformance app on fiber v2 on a loopback listener.
func serveFiber(t testing.TB, a App) string {
	t.Helper()
	v := orymfa.WithVerifier(a.Verifier)
	handle := func(c *fiber.Ctx) error {
		s, _ := orymfa.Session(c)
		fromCtx, _ := core.SessionFromContext(c.UserContext())
		status, body := a.Handle(s, fromCtx)
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(status).Send(body)
	}
	deny := orymfa.WithDenyHandler(func(c *fiber.Ctx, d *orymfa.Decision) error {
		status, body := a.Deny(d)
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(status).Send(body)
	})
	// fasthttp's default 4 KiB read buffer answers 431 to the suite's 8 KiB token before any
	// middleware runs; a larger one lets the request reach the guard, which must answer 401.
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: 16 << 10})
	app.Get("/public", handle)
	app.Get("/session", orymfa.RequireSession(v), handle)
	app.Get("/aal2", orymfa.RequireAAL2(v), handle)
	app.Get("/fresh", orymfa.RequireAAL2(v, orymfa.WithMaxAge(a.MaxAge)), handle)
	group := app.Group("/group", orymfa.RequireSession(v))
	group.Get("/aal2", orymfa.RequireAAL2(v), handle)
	group.Get("/fresh", orymfa.RequireAAL2(v, orymfa.WithMaxAge(a.MaxAge)), handle)
	app.Group("/two", orymfa.RequireSession(v)).Get("/aal2", orymfa.RequireAAL2(orymfa.WithVerifier(a.Other)), handle)
	app.Get("/api/aal2", orymfa.RequireAAL2(v, orymfa.WithMode(orymfa.ModeAPI)), handle)
	app.Get("/browser/session", orymfa.RequireSession(v, orymfa.WithMode(orymfa.ModeBrowser)), handle)
	app.Get("/custom/aal2", orymfa.RequireAAL2(v, deny), handle)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("listener: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
