package orymfa_test

import (
	"errors"
	"html"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"

	orymfa "github.com/orymfa/orymfa/echo"
)

// The README quick start: a public route, a group behind RequireSession and a route in it
// behind RequireAAL2 with a five-minute freshness window. The group's guard asks Ory once; the
// route's guard reuses that session.
func ExampleRequireAAL2() {
	os.Setenv("ORY_SDK_URL", "https://playground.projects.oryapis.com") // usually set outside

	e := echo.New()
	e.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "public") })

	account := e.Group("/account", orymfa.RequireSession())
	account.GET("/profile", profile)
	account.POST("/transfer", transfer, orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute)))

	_ = e.Start(":8080")
}

// ExampleNew is the configured case: an explicit verifier (here for a self-hosted Kratos,
// with the app's public origin for return_to) shared by the guards, with one import.
func ExampleNew() {
	ory, err := orymfa.New(orymfa.Config{
		SDKURL: "http://127.0.0.1:4433", // Kratos public URL
		AppURL: "https://app.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	account := e.Group("/account", orymfa.RequireSession(orymfa.WithVerifier(ory)))
	account.GET("/profile", profile)
	account.POST("/transfer", transfer, orymfa.RequireAAL2(orymfa.WithVerifier(ory), orymfa.WithMaxAge(5*time.Minute)))
}

// ExampleWithDenyHandler: a deny handler that writes the default answer directly instead of
// returning it to the HTTPErrorHandler. A verifier built with New reports a misconfiguration as
// an error instead of panicking.
func ExampleWithDenyHandler() {
	ory, err := orymfa.New(orymfa.Config{SDKURL: "http://127.0.0.1:4433"})
	if err != nil {
		log.Fatal(err)
	}
	writeDirectly := func(c echo.Context, d *orymfa.Decision) error {
		orymfa.WriteDecision(c, d)
		return nil
	}

	e := echo.New()
	e.POST("/transfer", transfer, orymfa.RequireAAL2(orymfa.WithVerifier(ory), orymfa.WithMaxAge(5*time.Minute),
		orymfa.WithDenyHandler(writeDirectly)))
}

// ExampleSession reads the verified session in a handler.
func ExampleSession() {
	os.Setenv("ORY_SDK_URL", "https://playground.projects.oryapis.com")

	e := echo.New()
	e.GET("/me", func(c echo.Context) error {
		s, _ := orymfa.Session(c) // ok is always true behind a guard
		return c.JSON(http.StatusOK, echo.Map{"traits": s.Identity.Traits})
	}, orymfa.RequireSession())
}

func profile(c echo.Context) error {
	s, ok := orymfa.Session(c)
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
	e.Use(orymfa.RequireSession(orymfa.WithSkipper(isPublic)))
	e.GET("/healthz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	e.GET("/account/profile", profile)
}

// ExampleDeniedError renders denials in the app's own HTTPErrorHandler: API clients get an
// HTML page with a link instead of Ory's JSON; any other error keeps echo's default handling.
// (Browser navigations are redirected to Ory before the error handler is involved.)
func ExampleDeniedError() {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var denied *orymfa.DeniedError
		if errors.As(err, &denied) && denied.Decision.RedirectTo != "" {
			_ = c.HTML(denied.Decision.Status, `<a href="`+html.EscapeString(denied.Decision.RedirectTo)+`">Continue</a>`)
			return
		}
		e.DefaultHTTPErrorHandler(err, c)
	}
}
