package fiber_test

import (
	"log"
	"time"

	gofiber "github.com/gofiber/fiber/v2"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/fiber"
)

// A public route, a group behind RequireSession, and a route that needs a second factor proven
// in the last five minutes. The guards read ORY_SDK_URL; here the verifier is explicit.
func ExampleRequireAAL2() {
	ory := fiber.WithVerifier(core.MustNew(core.Config{SDKURL: "https://example.projects.oryapis.com"}))

	app := gofiber.New()
	app.Get("/", func(c *gofiber.Ctx) error { return c.SendString("welcome") })

	account := app.Group("/account", fiber.RequireSession(ory))
	account.Get("/", func(c *gofiber.Ctx) error {
		s, _ := fiber.Session(c)
		return c.SendString("signed in as " + s.Identity.Id)
	})
	// The group's guard already verified the session: this one reuses it without asking Ory.
	account.Post("/transfer", fiber.RequireAAL2(ory, fiber.WithMaxAge(5*time.Minute)), func(c *gofiber.Ctx) error {
		s, _ := fiber.Session(c)
		return c.SendString("transfer approved for " + s.Identity.Id)
	})

	if false { // compiled, not run
		log.Fatal(app.Listen(":3000"))
	}
}

// Code below the handler reads the session from the request's context.Context.
func ExampleSession() {
	handler := func(c *gofiber.Ctx) error {
		if s, ok := fiber.Session(c); ok {
			return c.SendString(s.Identity.Id)
		}
		return gofiber.ErrUnauthorized
	}
	service := func(c *gofiber.Ctx) error {
		s, ok := core.SessionFromContext(c.UserContext()) // the same session, for code that gets only a context
		if !ok {
			return gofiber.ErrUnauthorized
		}
		return c.SendString(s.Id)
	}
	_, _ = handler, service
}

// Skip the guard for health checks, and answer denials with the app's own JSON.
func ExampleWithDenyHandler() {
	guard := fiber.RequireSession(
		fiber.WithVerifier(core.MustNew(core.Config{SDKURL: "https://example.projects.oryapis.com"})),
		fiber.WithNext(func(c *gofiber.Ctx) bool { return c.Path() == "/healthz" }),
		fiber.WithDenyHandler(func(c *gofiber.Ctx, d *core.Decision) error {
			if d.Outcome == core.Unavailable {
				return fiber.WriteDecision(c, d) // the default 5xx
			}
			return c.Status(gofiber.StatusForbidden).JSON(gofiber.Map{"outcome": d.Outcome.String(), "continue_at": d.RedirectTo})
		}),
	)
	app := gofiber.New()
	app.Use(guard)
	app.Get("/healthz", func(c *gofiber.Ctx) error { return c.SendString("ok") })
}
