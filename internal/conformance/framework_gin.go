package conformance

import (
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/gin"
)

// serveGin runs the conformance app on gin.
func serveGin(t testing.TB, app App) string {
	gin.SetMode(gin.ReleaseMode)
	v := orymfa.WithVerifier(app.Verifier)
	handle := func(c *gin.Context) {
		s, _ := orymfa.Session(c)
		fromCtx, _ := core.SessionFromContext(c.Request.Context())
		status, body := app.Handle(s, fromCtx)
		c.Data(status, "application/json", body)
	}
	deny := func(c *gin.Context, d *orymfa.Decision) {
		status, body := app.Deny(d)
		c.Data(status, "application/json", body)
	}
	next := func(c *gin.Context, d *orymfa.Decision) {
		c.Next()
		orymfa.WriteDecision(c, d)
	}
	r := gin.New()
	if app.Begin != nil {
		r.Use(func(c *gin.Context) {
			ctx, end := app.begin(c.Request.Context(), Incoming{Method: c.Request.Method, Path: c.Request.URL.Path, Header: c.GetHeader, SetHeader: c.Header})
			defer end()
			c.Request = c.Request.WithContext(ctx)
			c.Next()
		})
	}
	r.GET("/public", handle)
	r.GET("/session", orymfa.RequireSession(v), handle)
	r.GET("/aal2", orymfa.RequireAAL2(v), handle)
	r.POST("/aal2", orymfa.RequireAAL2(v), handle)
	r.GET("/fresh", orymfa.RequireAAL2(v, orymfa.WithMaxAge(app.MaxAge)), handle)
	group := r.Group("/group", orymfa.RequireSession(v))
	group.GET("/aal2", orymfa.RequireAAL2(v), handle)
	group.GET("/fresh", orymfa.RequireAAL2(v, orymfa.WithMaxAge(app.MaxAge)), handle)
	r.Group("/two", orymfa.RequireSession(v)).GET("/aal2", orymfa.RequireAAL2(orymfa.WithVerifier(app.Other)), handle)
	r.GET("/api/aal2", orymfa.RequireAAL2(v, orymfa.WithMode(orymfa.ModeAPI)), handle)
	r.GET("/browser/session", orymfa.RequireSession(v, orymfa.WithMode(orymfa.ModeBrowser)), handle)
	r.GET("/custom/aal2", orymfa.RequireAAL2(v, orymfa.WithDenyHandler(deny)), handle)
	r.GET("/next/aal2", orymfa.RequireAAL2(v, orymfa.WithDenyHandler(next)), handle)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}

// zeroGin builds a guard with no options, as the zero-config user does.
func zeroGin(aal2 bool) {
	if aal2 {
		orymfa.RequireAAL2()
		return
	}
	orymfa.RequireSession()
}
