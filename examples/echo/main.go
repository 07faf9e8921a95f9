// Command echo is a small echo v4 app whose routes are protected by orymfa:
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
// scripts/demo.sh echo in the orymfa repository starts Kratos, a login UI and this app together.
package main

import (
	"cmp"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	orymfa "github.com/orymfa/orymfa/echo"
	"github.com/orymfa/orymfa/examples/internal/page"
)

func main() {
	addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:4455")
	log.Printf("listening on http://%s (Ory at %s)", addr, os.Getenv("ORY_SDK_URL"))
	e := newApp()
	e.HideBanner, e.HidePort = true, true
	log.Fatal(e.Start(addr))
}

// newApp builds the app's routes. The guards read ORY_SDK_URL and panic here, at startup,
// when it is missing.
func newApp() *echo.Echo {
	signedIn := orymfa.RequireSession()
	stepUp := orymfa.RequireAAL2(orymfa.WithMaxAge(5 * time.Minute))
	site := page.New()
	render := func(c echo.Context, title, text string) error {
		s, _ := orymfa.Session(c)
		c.Response().Header().Set(echo.HeaderContentType, page.ContentType)
		return site.Render(c.Request().Context(), c.Response(), c.Request().Header.Get("Cookie"), s, title, text)
	}

	e := echo.New()
	// Clients connect directly: c.RealIP() is the peer's address, X-Forwarded-For and
	// X-Real-IP are not believed. Behind a proxy, use echo.ExtractIPFromXFFHeader.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(middleware.Recover())
	// The Ory session cookie is SameSite=Lax, which a form on a sibling subdomain gets past:
	// refuse cross-origin POSTs (and other unsafe methods) from browsers.
	e.Use(echo.WrapMiddleware(http.NewCrossOriginProtection().Handler))
	e.GET("/", func(c echo.Context) error {
		return render(c, "Home", "Anyone can see this page.")
	})
	e.GET("/account", func(c echo.Context) error {
		return render(c, "Account", "Any signed-in user can see this page.")
	}, signedIn)
	// Moving money needs a second factor proven in the last five minutes.
	e.GET("/transfer", func(c echo.Context) error {
		return render(c, "Transfer", "You proved your second factor recently: you may move money.")
	}, stepUp)
	e.POST("/transfer", func(c echo.Context) error {
		return render(c, "Transfer", "Sent €"+c.FormValue("amount")+". (Not really: this is a demo.)")
	}, stepUp)
	e.GET("/api/me", func(c echo.Context) error {
		s, _ := orymfa.Session(c)
		return c.JSON(http.StatusOK, s.Identity)
	}, signedIn)
	return e
}
