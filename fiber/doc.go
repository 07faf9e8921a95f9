// Package orymfa protects fiber v2 routes with Ory sessions and step-up authentication, as
// native fiber.Handler middleware (no net/http adaptor in between).
//
//	import (
//		"github.com/gofiber/fiber/v2"
//		orymfa "github.com/orymfa/orymfa/fiber"
//	)
//
//	app := fiber.New()
//	app.Get("/", home) // public
//	account := app.Group("/account", orymfa.RequireSession())
//	account.Get("/", showAccount)
//	account.Post("/transfer", orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute)), transfer)
//
//	func showAccount(c *fiber.Ctx) error {
//		s, _ := orymfa.Session(c)
//		return c.SendString("hello " + s.Identity.Id)
//	}
//
// Guards read ORY_SDK_URL unless given [WithVerifier]. A denied browser navigation is
// redirected (303) to Ory's login, step-up (aal=aal2), refresh or settings flow with return_to
// set to the original URL; an API request gets Ory's JSON error shape (401 session_inactive,
// 403 session_aal2_required or session_refresh_required). When Ory cannot answer the guard
// answers 5xx and the handler never runs.
//
// The verified session is in c.Locals under [SessionKey] (read it with [Session]) and in
// c.UserContext(), so code below the handler reads it with core.SessionFromContext. A guard on
// a route below a guarded group reuses the group's session instead of asking Ory again.
//
// Like the gofiber/contrib middleware, a guard takes [WithNext] to skip requests and
// [WithDenyHandler] to render denials itself. Put fiber's CORS middleware before the guard: a
// CORS preflight (OPTIONS) carries no credentials, so the guard would redirect or refuse it.
//
// fasthttp answers 431 to request headers larger than fiber's ReadBufferSize (4 KiB by
// default) before any middleware runs; raise it if the app's cookies need more room.
//
// This package re-exports what its users need from package core ([Config], [New], the modes,
// outcomes and errors), so one import covers the configured case too.
package orymfa

//go:generate go run -C ../internal ./exports/genexports fiber
