// Command fiberv3 is a small fiber v3 app whose routes are protected by orymfa:
//
//	/          public; the header still shows who is signed in
//	/account   any Ory session (RequireSession)
//	/transfer  a second factor proven within the last five minutes (RequireAAL2)
//	/api/me    the identity as JSON, for API clients with a session token
//
// The HTML pages come from examples/internal/page, which every example shares: this file is
// the app's routes and its guards.
//
// Run it next to Ory (or Kratos) with ORY_SDK_URL set, as in Ory's guides:
//
//	ORY_SDK_URL=http://127.0.0.1:4433 go run .
//
// scripts/demo.sh fiberv3 in the orymfa repository starts Kratos, a login UI and this app
// together.
package main

import (
	"cmp"
	"log"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/recover"

	"github.com/orymfa/orymfa/examples/internal/page"
	orymfa "github.com/orymfa/orymfa/fiber/v3"
)

func main() {
	addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:4455")
	log.Printf("listening on http://%s (Ory at %s)", addr, os.Getenv("ORY_SDK_URL"))
	log.Fatal(newApp().Listen(addr, fiber.ListenConfig{DisableStartupMessage: true}))
}

// newApp builds the app's routes. The guards read ORY_SDK_URL and panic here, at startup,
// when it is missing.
func newApp() *fiber.App {
	signedIn := orymfa.RequireSession()
	stepUp := orymfa.RequireAAL2(orymfa.WithMaxAge(5 * time.Minute))
	site := page.New()
	render := func(c fiber.Ctx, title, text string) error {
		s, _ := orymfa.Session(c)
		c.Type("html", "utf-8")
		return site.Render(c.Context(), c, c.Get(fiber.HeaderCookie), s, title, text)
	}

	app := fiber.New(fiber.Config{
		// Clients connect directly: trust no proxy, so c.IP(), c.Hostname() and c.Scheme()
		// ignore X-Forwarded-* headers. Behind a proxy, set TrustProxyConfig.
		TrustProxy: false,
	})
	app.Use(recover.New())
	app.Use(crossOriginProtection())
	app.Get("/", func(c fiber.Ctx) error {
		return render(c, "Home", "Anyone can see this page.")
	})
	app.Get("/account", signedIn, func(c fiber.Ctx) error {
		return render(c, "Account", "Any signed-in user can see this page.")
	})
	// Moving money needs a second factor proven in the last five minutes.
	app.Get("/transfer", stepUp, func(c fiber.Ctx) error {
		return render(c, "Transfer", "You proved your second factor recently: you may move money.")
	})
	app.Post("/transfer", stepUp, func(c fiber.Ctx) error {
		return render(c, "Transfer", "Sent €"+c.FormValue("amount")+". (Not really: this is a demo.)")
	})
	app.Get("/api/me", signedIn, func(c fiber.Ctx) error {
		s, _ := orymfa.Session(c)
		return c.JSON(s.Identity)
	})
	return app
}

// crossOriginProtection refuses cross-origin POSTs (and other unsafe methods) from browsers:
// the Ory session cookie is SameSite=Lax, which a form on a sibling subdomain gets past. fiber
// has no *http.Request, so this hands net/http's CrossOriginProtection what its check reads.
func crossOriginProtection() fiber.Handler {
	cop := http.NewCrossOriginProtection()
	return func(c fiber.Ctx) error {
		r := &http.Request{Method: c.Method(), Host: string(c.Request().Host()), URL: &url.URL{Path: c.Path()}, Header: http.Header{
			"Sec-Fetch-Site": {c.Get("Sec-Fetch-Site")}, "Origin": {c.Get(fiber.HeaderOrigin)},
		}}
		if cop.Check(r) != nil {
			return fiber.NewError(fiber.StatusForbidden, "cross-origin request refused")
		}
		return c.Next()
	}
}
