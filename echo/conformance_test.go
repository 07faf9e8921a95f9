package echo_test

import (
	"net/http/httptest"
	"os"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/orymfa/orymfa/core"
	orymecho "github.com/orymfa/orymfa/echo"
	"github.com/orymfa/orymfa/internal/conformance"
)

func TestMain(m *testing.M) { os.Exit(conformance.Main(m)) }

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Adapter{Name: "echo", Serve: serve})
}

// serve builds the conformance app with echo's router, a group for /group and echo's default
// HTTPErrorHandler, through which the API denials flow.
func serve(t *testing.T, app conformance.App) string {
	v := orymecho.WithVerifier(app.Verifier)
	handle := func(c echo.Context) error {
		s, _ := orymecho.Session(c)
		fromCtx, _ := core.SessionFromContext(c.Request().Context())
		status, body := app.Handle(s, fromCtx)
		return c.JSONBlob(status, body)
	}
	deny := orymecho.WithDenyHandler(func(c echo.Context, d *core.Decision) error {
		status, body := app.Deny(d)
		return c.JSONBlob(status, body)
	})
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/public", handle)
	e.GET("/session", handle, orymecho.RequireSession(v))
	e.GET("/aal2", handle, orymecho.RequireAAL2(v))
	e.GET("/fresh", handle, orymecho.RequireAAL2(v, orymecho.WithMaxAge(app.MaxAge)))
	g := e.Group("/group", orymecho.RequireSession(v))
	g.GET("/aal2", handle, orymecho.RequireAAL2(v))
	e.GET("/api/aal2", handle, orymecho.RequireAAL2(v, orymecho.WithMode(core.ModeAPI)))
	e.GET("/browser/session", handle, orymecho.RequireSession(v, orymecho.WithMode(core.ModeBrowser)))
	e.GET("/custom/aal2", handle, orymecho.RequireAAL2(v, deny))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}
