package gin_test

import (
	"net/http/httptest"
	"os"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/orymfa/orymfa/core"
	orymgin "github.com/orymfa/orymfa/gin"
	"github.com/orymfa/orymfa/internal/conformance"
)

func TestMain(m *testing.M) { os.Exit(conformance.Main(m)) }

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Adapter{Name: "gin", Serve: serve})
}

// serve runs the conformance app (see conformance.App) on gin.
func serve(t *testing.T, app conformance.App) string {
	v := orymgin.WithVerifier(app.Verifier)
	handle := func(c *gin.Context) {
		s, _ := orymgin.Session(c)
		fromCtx, _ := core.SessionFromContext(c.Request.Context())
		status, body := app.Handle(s, fromCtx)
		c.Data(status, "application/json", body)
	}
	deny := func(c *gin.Context, d *core.Decision) {
		status, body := app.Deny(d)
		c.Data(status, "application/json", body)
	}

	r := gin.New()
	r.GET("/public", handle)
	r.GET("/session", orymgin.RequireSession(v), handle)
	r.GET("/aal2", orymgin.RequireAAL2(v), handle)
	r.GET("/fresh", orymgin.RequireAAL2(v, orymgin.WithMaxAge(app.MaxAge)), handle)
	r.Group("/group", orymgin.RequireSession(v)).GET("/aal2", orymgin.RequireAAL2(v), handle)
	r.GET("/api/aal2", orymgin.RequireAAL2(v, orymgin.WithMode(core.ModeAPI)), handle)
	r.GET("/browser/session", orymgin.RequireSession(v, orymgin.WithMode(core.ModeBrowser)), handle)
	r.GET("/custom/aal2", orymgin.RequireAAL2(v, orymgin.WithDenyHandler(deny)), handle)

	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}
