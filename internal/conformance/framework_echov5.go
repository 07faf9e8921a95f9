package conformance

import (
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v5"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/echo/v5"
)

// serveEchoV5 builds the conformance app with echo v5's router, groups, and echo's default
// HTTPErrorHandler, through which the API denials flow.
func serveEchoV5(t testing.TB, app App) string {
	v := orymfa.WithVerifier(app.Verifier)
	handle := func(c *echo.Context) error {
		s, _ := orymfa.Session(c)
		fromCtx, _ := core.SessionFromContext(c.Request().Context())
		status, body := app.Handle(s, fromCtx)
		return c.JSONBlob(status, body)
	}
	deny := orymfa.WithDenyHandler(func(c *echo.Context, d *orymfa.Decision) error {
		status, body := app.Deny(d)
		return c.JSONBlob(status, body)
	})
	e := echo.New()
	e.GET("/public", handle)
	e.GET("/session", handle, orymfa.RequireSession(v))
	e.GET("/aal2", handle, orymfa.RequireAAL2(v))
	e.GET("/fresh", handle, orymfa.RequireAAL2(v, orymfa.WithMaxAge(app.MaxAge)))
	g := e.Group("/group", orymfa.RequireSession(v))
	g.GET("/aal2", handle, orymfa.RequireAAL2(v))
	g.GET("/fresh", handle, orymfa.RequireAAL2(v, orymfa.WithMaxAge(app.MaxAge)))
	e.Group("/two", orymfa.RequireSession(v)).GET("/aal2", handle, orymfa.RequireAAL2(orymfa.WithVerifier(app.Other)))
	e.GET("/api/aal2", handle, orymfa.RequireAAL2(v, orymfa.WithMode(orymfa.ModeAPI)))
	e.GET("/browser/session", handle, orymfa.RequireSession(v, orymfa.WithMode(orymfa.ModeBrowser)))
	e.GET("/custom/aal2", handle, orymfa.RequireAAL2(v, deny))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}
