package conformance

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/echo"
	nethttp "github.com/orymfa/orymfa/nethttp"
)

// serveEcho builds the conformance app with echo v4's router, groups, and echo's default
// HTTPErrorHandler, through which the API denials flow.
func serveEcho(t testing.TB, app App) string {
	v := orymfa.WithVerifier(app.Verifier)
	// An echo guard stores the session in c.Get(SessionKey) too, unless the request's context
	// brought it from outside echo: contextSession, or a net/http guard's (outside).
	handler := func(outside bool) echo.HandlerFunc {
		return func(c echo.Context) error {
			s, _ := orymfa.Session(c)
			if s != nil && s != contextSession && !outside && c.Get(orymfa.SessionKey) != s {
				return c.String(http.StatusInternalServerError, "the guard's session is not in c.Get(SessionKey)")
			}
			fromCtx, _ := core.SessionFromContext(c.Request().Context())
			status, body := app.Handle(s, fromCtx)
			return c.JSONBlob(status, body)
		}
	}
	handle := handler(false)
	deny := orymfa.WithDenyHandler(func(c echo.Context, d *orymfa.Decision) error {
		status, body := app.Deny(d)
		return c.JSONBlob(status, body)
	})
	// An echo deny handler has no "next" in reach; WriteDecision bypasses the error handler.
	writeDecision := orymfa.WithDenyHandler(func(c echo.Context, d *orymfa.Decision) error {
		orymfa.WriteDecision(c, d)
		return nil
	})
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	if app.Begin != nil {
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				r := c.Request()
				ctx, end := app.begin(r.Context(), Incoming{Method: r.Method, Path: r.URL.Path, Header: r.Header.Get, SetHeader: c.Response().Header().Set})
				defer end()
				c.SetRequest(r.WithContext(ctx))
				return next(c)
			}
		})
	}
	if app.OnError != nil {
		// Every error reaches app.OnError, with the decision of a denial's DeniedError; under
		// /errors/ the app answers with its page, elsewhere echo's default handler answers.
		e.HTTPErrorHandler = func(err error, c echo.Context) {
			status := http.StatusInternalServerError
			if he := (*echo.HTTPError)(nil); errors.As(err, &he) {
				status = he.Code
			}
			var d *core.Decision
			if denied := (*orymfa.DeniedError)(nil); errors.As(err, &denied) {
				d = denied.Decision
			}
			status, body := app.OnError(err, status, d)
			if !strings.HasPrefix(c.Request().URL.Path, "/errors/") {
				e.DefaultHTTPErrorHandler(err, c)
				return
			}
			_ = c.HTMLBlob(status, body)
		}
	}
	e.GET("/public", handle)
	e.GET("/session", handle, orymfa.RequireSession(v))
	e.GET("/aal2", handle, orymfa.RequireAAL2(v))
	e.POST("/aal2", handle, orymfa.RequireAAL2(v))
	e.GET("/fresh", handle, orymfa.RequireAAL2(v, orymfa.WithMaxAge(app.MaxAge)))
	g := e.Group("/group", orymfa.RequireSession(v))
	g.GET("/aal2", handle, orymfa.RequireAAL2(v))
	g.GET("/fresh", handle, orymfa.RequireAAL2(v, orymfa.WithMaxAge(app.MaxAge)))
	e.Group("/two", orymfa.RequireSession(v)).GET("/aal2", handle, orymfa.RequireAAL2(orymfa.WithVerifier(app.Other)))
	e.GET("/api/aal2", handle, orymfa.RequireAAL2(v, orymfa.WithMode(orymfa.ModeAPI)))
	e.GET("/browser/session", handle, orymfa.RequireSession(v, orymfa.WithMode(orymfa.ModeBrowser)))
	e.GET("/custom/aal2", handle, orymfa.RequireAAL2(v, deny))
	e.GET("/next/aal2", handle, orymfa.RequireAAL2(v, writeDecision))
	var noSkipper middleware.Skipper // nil: nothing is skipped
	e.GET("/errors/session", handle, orymfa.RequireSession(v, orymfa.WithSkipper(noSkipper)))
	e.GET("/errors/aal2", handle, orymfa.RequireAAL2(v))
	e.GET("/errors/custom/aal2", handle, orymfa.RequireAAL2(v, orymfa.WithDenyHandler(func(c echo.Context, d *orymfa.Decision) error {
		return fmt.Errorf("%w: %w", errDeniedByApp, d.Err)
	})))
	skip := orymfa.WithSkipper(func(c echo.Context) bool { return c.Request().Header.Get("X-Skip") == "1" })
	e.GET("/skip/aal2", handle, orymfa.RequireAAL2(skip, v))
	e.GET("/skip/custom/aal2", handle, orymfa.RequireAAL2(deny, v, skip))
	outer := nethttp.RequireSession(nethttp.WithVerifier(app.Verifier))
	e.GET("/outer/session", handler(true), echo.WrapMiddleware(outer), orymfa.RequireSession(v))
	e.GET("/around/session", handler(true), orymfa.RequireSession(v))
	mux := http.NewServeMux()
	mux.Handle("/around/", outer(e))
	mux.Handle("/", e)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// zeroEcho builds a guard with no options, as the zero-config user does.
func zeroEcho(aal2 bool) {
	if aal2 {
		orymfa.RequireAAL2()
		return
	}
	orymfa.RequireSession()
}
