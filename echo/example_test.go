package echo_test

import (
	"errors"
	"html"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/orymfa/orymfa/core"
	orymecho "github.com/orymfa/orymfa/echo"
)

// The README quick start: a public route, a group behind RequireSession and a route in it
// behind RequireAAL2 with a five-minute freshness window. The group's guard asks Ory once; the
// route's guard reuses that session.
func ExampleRequireAAL2() {
	os.Setenv("ORY_SDK_URL", "https://playground.projects.oryapis.com") // usually set outside

	e := echo.New()
	e.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "public") })

	account := e.Group("/account", orymecho.RequireSession())
	account.GET("/profile", profile)
	account.POST("/transfer", transfer, orymecho.RequireAAL2(orymecho.WithMaxAge(5*time.Minute)))

	_ = e.Start(":8080")
}

// ExampleSession reads the verified session in a handler; here the guard gets an explicit
// verifier instead of ORY_SDK_URL.
func ExampleSession() {
	v := core.MustNew(core.Config{SDKURL: "http://127.0.0.1:4433"}) // Kratos public URL

	e := echo.New()
	e.GET("/me", func(c echo.Context) error {
		s, _ := orymecho.Session(c) // ok is always true behind a guard
		return c.JSON(http.StatusOK, echo.Map{"email": s.Identity.Traits})
	}, orymecho.RequireSession(orymecho.WithVerifier(v)))
}

func profile(c echo.Context) error {
	s, ok := orymecho.Session(c)
	if !ok {
		return echo.ErrUnauthorized // unreachable behind a guard
	}
	return c.JSON(http.StatusOK, echo.Map{"id": s.Identity.Id, "aal": s.GetAuthenticatorAssuranceLevel()})
}

func transfer(c echo.Context) error { return c.NoContent(http.StatusNoContent) }

// ExampleWithSkipper guards every route but the health check, echo's Skipper style.
func ExampleWithSkipper() {
	os.Setenv("ORY_SDK_URL", "https://playground.projects.oryapis.com")

	e := echo.New()
	isPublic := func(c echo.Context) bool { return c.Path() == "/healthz" }
	e.Use(orymecho.RequireSession(orymecho.WithSkipper(isPublic)))
	e.GET("/healthz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	e.GET("/account/profile", profile)
}

// ExampleDeniedError renders denials in the app's own HTTPErrorHandler: API clients get an
// HTML page with a link instead of Ory's JSON; any other error keeps echo's default handling.
// (Browser navigations are redirected to Ory before the error handler is involved.)
func ExampleDeniedError() {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var denied *orymecho.DeniedError
		if errors.As(err, &denied) && denied.Decision.RedirectTo != "" {
			var he *echo.HTTPError
			errors.As(err, &he)
			_ = c.HTML(he.Code, `<a href="`+html.EscapeString(denied.Decision.RedirectTo)+`">Continue</a>`)
			return
		}
		e.DefaultHTTPErrorHandler(err, c)
	}
}
