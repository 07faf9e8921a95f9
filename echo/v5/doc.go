// Package orymfa protects echo v5 routes with Ory sessions and step-up authentication.
//
//	import (
//		"github.com/labstack/echo/v5"
//		orymfa "github.com/orymfa/orymfa/echo/v5"
//	)
//
//	e := echo.New()
//	e.GET("/", home) // public
//	account := e.Group("/account", orymfa.RequireSession())
//	account.GET("/profile", profile)
//	account.POST("/transfer", transfer, orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute)))
//
//	func profile(c *echo.Context) error {
//		s, _ := orymfa.Session(c)
//		return c.JSON(http.StatusOK, map[string]any{"id": s.Identity.Id})
//	}
//
// Guards read ORY_SDK_URL unless given [WithVerifier], and panic at setup when it is missing
// ([New] returns the error instead, for [WithVerifier]). The handler never runs on a denial. For echo v4 use github.com/orymfa/orymfa/echo, which has the same names.
//
// # Denials
//
// A denied browser navigation is redirected (303) to Ory's login, step-up (aal=aal2), refresh
// or settings flow with return_to set to the original URL, or shown a small error page when
// Ory is unavailable; both are written directly.
// Every other denial is returned as a *[DeniedError], so it flows through the app's
// HTTPErrorHandler like any echo middleware's. As echo v5 expects of an error that knows its
// response, it reports its status to echo.StatusCode (401 session_inactive, 403
// session_aal2_required or session_refresh_required, 5xx when Ory is unavailable) and
// marshals to Ory's JSON error shape, which echo's DefaultHTTPErrorHandler writes.
// An error handler recognises it with
//
//	var denied *orymfa.DeniedError
//	if errors.As(err, &denied) { ... denied.Decision.RedirectTo ... }
//
// or with errors.Is(err, orymfa.ErrAAL2Required) and the other sentinels. [WithDenyHandler]
// replaces all of this (like the ErrorHandler of echo's KeyAuth); [DefaultDenyHandler] and
// [WriteDecision] are there to fall back on.
//
// # Skipping
//
// [WithSkipper] takes echo's middleware.Skipper, as echo's own middleware configs do:
//
//	e.Use(orymfa.RequireSession(orymfa.WithSkipper(isPublic)))
//
// # Session
//
// The verified session is stored both with c.Set under [SessionKey] and in
// c.Request().Context() (read it with [Session], or core.SessionFromContext below the
// handler). A RequireAAL2 on a route inside a RequireSession group reuses the session the
// group verified: one whoami call per request.
//
// # CORS
//
// Put echo's CORS middleware before the guard: a CORS preflight (OPTIONS) carries no
// credentials, so the guard would redirect or refuse it.
//
// This package re-exports what its users need from package core ([Config], [New], the modes,
// outcomes and errors), so one import covers the configured case too.
package orymfa

//go:generate go run -C ../../internal ./exports/genexports echo/v5
