// Package orymfa protects net/http handlers with Ory sessions and step-up authentication.
//
//	import orymfa "github.com/orymfa/orymfa/nethttp"
//
//	mux.Handle("GET /account", orymfa.RequireSession()(account))
//	mux.Handle("POST /transfer", orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute))(transfer))
//
// Guards read ORY_SDK_URL unless given [WithVerifier]. A denied browser navigation is
// redirected (303) to Ory's login, step-up (aal=aal2), refresh or settings flow with return_to
// set to the original URL; an API request gets Ory's JSON error shape (401 session_inactive,
// 403 session_aal2_required or session_refresh_required). When Ory cannot answer the guard
// answers 5xx and the handler never runs. The verified session is in the request context:
// [SessionFromContext].
//
// Put CORS middleware before the guard: a CORS preflight (OPTIONS) carries no credentials, so
// the guard would redirect or refuse it.
//
// This package re-exports what its users need from package core ([Config], [New], the modes,
// outcomes and errors), so one import covers the configured case too.
package orymfa

//go:generate go run -C ../internal ./exports/genexports nethttp
