// Package orymfa protects gin routes with Ory sessions and step-up authentication.
//
//	import (
//		"github.com/gin-gonic/gin"
//		orymfa "github.com/orymfa/orymfa/gin"
//	)
//
//	r := gin.New()
//	r.GET("/", home) // public
//	account := r.Group("/account", orymfa.RequireSession())
//	account.GET("/profile", profile)
//	account.POST("/transfer", orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute)), transfer)
//
//	func profile(c *gin.Context) {
//		s, _ := orymfa.Session(c)
//		c.JSON(http.StatusOK, gin.H{"id": s.Identity.Id})
//	}
//
// Guards read ORY_SDK_URL unless given [WithVerifier], and panic at setup when it is missing. A
// denied browser navigation is redirected (303) to Ory's login, step-up (aal=aal2), refresh or
// settings flow with return_to set to the original URL; an API request gets Ory's JSON error
// shape (401 session_inactive, 403 session_aal2_required or session_refresh_required). When Ory
// cannot answer the guard answers 5xx. On every denial the chain is aborted, so neither the
// handler nor any later middleware runs.
//
// The verified session is stored both with c.Set under [SessionKey] and in
// c.Request.Context() (read it with [Session], or core.SessionFromContext below the handler).
// A RequireAAL2 on a route inside a RequireSession group reuses the session the group verified:
// one whoami call per request.
//
// Put CORS middleware (gin-contrib/cors) before the guard: a CORS preflight (OPTIONS) carries
// no credentials, so the guard would redirect or refuse it.
//
// This package re-exports what its users need from package core ([Config], [New], the modes,
// outcomes and errors), so one import covers the configured case too.
package orymfa

//go:generate go run -C ../internal ./exports/genexports gin
