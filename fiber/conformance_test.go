package fiber_test

import (
	"net"
	"os"
	"testing"

	gofiber "github.com/gofiber/fiber/v2"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/fiber"
	"github.com/orymfa/orymfa/internal/conformance"
)

func TestMain(m *testing.M) { os.Exit(conformance.Main(m)) }

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Adapter{Name: "fiber", Serve: serve})
}

// serve runs the conformance app on a loopback listener.
func serve(t *testing.T, a conformance.App) string {
	t.Helper()
	v := fiber.WithVerifier(a.Verifier)
	handle := func(c *gofiber.Ctx) error {
		s, _ := fiber.Session(c)
		fromCtx, _ := core.SessionFromContext(c.UserContext())
		status, body := a.Handle(s, fromCtx)
		c.Set(gofiber.HeaderContentType, gofiber.MIMEApplicationJSON)
		return c.Status(status).Send(body)
	}
	deny := fiber.WithDenyHandler(func(c *gofiber.Ctx, d *core.Decision) error {
		status, body := a.Deny(d)
		c.Set(gofiber.HeaderContentType, gofiber.MIMEApplicationJSON)
		return c.Status(status).Send(body)
	})

	// fasthttp's default 4 KiB read buffer answers 431 to the suite's 8 KiB token before any
	// middleware runs; a larger one lets the request reach the guard, which must answer 401.
	app := gofiber.New(gofiber.Config{DisableStartupMessage: true, ReadBufferSize: 16 << 10})
	app.Get("/public", handle)
	app.Get("/session", fiber.RequireSession(v), handle)
	app.Get("/aal2", fiber.RequireAAL2(v), handle)
	app.Get("/fresh", fiber.RequireAAL2(v, fiber.WithMaxAge(a.MaxAge)), handle)
	group := app.Group("/group", fiber.RequireSession(v))
	group.Get("/aal2", fiber.RequireAAL2(v), handle)
	app.Get("/api/aal2", fiber.RequireAAL2(v, fiber.WithMode(core.ModeAPI)), handle)
	app.Get("/browser/session", fiber.RequireSession(v, fiber.WithMode(core.ModeBrowser)), handle)
	app.Get("/custom/aal2", fiber.RequireAAL2(v, deny), handle)

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
