package orymfa_test

import (
	"log"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/fiber/v3"
)

// A public route, a group behind RequireSession, and a route that needs a second factor proven
// in the last five minutes. The guards read ORY_SDK_URL; here the verifier is explicit.
func ExampleRequireAAL2() {
	ory := orymfa.WithVerifier(orymfa.MustNew(orymfa.Config{SDKURL: "https://example.projects.oryapis.com"}))

	app := fiber.New()
	app.Get("/", func(c fiber.Ctx) error { return c.SendString("welcome") })

	account := app.Group("/account", orymfa.RequireSession(ory))
	account.Get("/", func(c fiber.Ctx) error {
		s, _ := orymfa.Session(c)
		return c.SendString("signed in as " + s.Identity.Id)
	})
	// The group's guard already verified the session: this one reuses it without asking Ory.
	account.Post("/transfer", orymfa.RequireAAL2(ory, orymfa.WithMaxAge(5*time.Minute)), func(c fiber.Ctx) error {
		s, _ := orymfa.Session(c)
		return c.SendString("transfer approved for " + s.Identity.Id)
	})

	if false { // compiled, not run
		log.Fatal(app.Listen(":3000"))
	}
}

// Code below the handler reads the session from the request's context.Context.
func ExampleSession() {
	handler := func(c fiber.Ctx) error {
		if s, ok := orymfa.Session(c); ok {
			return c.SendString(s.Identity.Id)
		}
		return fiber.ErrUnauthorized
	}
	service := func(c fiber.Ctx) error {
		// The same session, for code that gets only a context: pass c.Context(), not c (whose
		// Value reads c.Locals).
		s, ok := core.SessionFromContext(c.Context())
		if !ok {
			return fiber.ErrUnauthorized
		}
		return c.SendString(s.Id)
	}
	_, _ = handler, service
}

// Skip the guard for health checks, and answer denials with the app's own JSON.
func ExampleWithDenyHandler() {
	guard := orymfa.RequireSession(
		orymfa.WithVerifier(orymfa.MustNew(orymfa.Config{SDKURL: "https://example.projects.oryapis.com"})),
		orymfa.WithNext(func(c fiber.Ctx) bool { return c.Path() == "/healthz" }),
		orymfa.WithDenyHandler(func(c fiber.Ctx, d *orymfa.Decision) error {
			if d.Outcome == orymfa.Unavailable {
				return orymfa.WriteDecision(c, d) // the default 5xx
			}
			return c.Status(fiber.StatusForbidden).JSON(fiber.Map{"outcome": d.Outcome.String(), "continue_at": d.RedirectTo})
		}),
	)
	app := fiber.New()
	app.Use(guard)
	app.Get("/healthz", func(c fiber.Ctx) error { return c.SendString("ok") })
}

// A verifier built with New reports misconfiguration as an error instead of panicking.
func ExampleNew() {
	ory, err := orymfa.New(orymfa.Config{SDKURL: "http://127.0.0.1:4433"})
	if err != nil {
		log.Fatal(err)
	}
	app := fiber.New()
	app.Post("/transfer", orymfa.RequireAAL2(orymfa.WithVerifier(ory), orymfa.WithMaxAge(5*time.Minute)),
		func(c fiber.Ctx) error { return c.SendString("ok") })
}
