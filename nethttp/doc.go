// Package nethttp protects net/http handlers with Ory sessions and step-up authentication.
//
//	mux.Handle("/account", nethttp.RequireSession()(account))
//	mux.Handle("/transfer", nethttp.RequireAAL2(nethttp.WithMaxAge(5*time.Minute))(transfer))
//
// Guards read ORY_SDK_URL unless given [WithVerifier]. A denied browser navigation is
// redirected (303) to Ory's login, step-up (aal=aal2), refresh or settings flow with return_to
// set to the original URL; an API request gets Ory's JSON error shape (401 session_inactive,
// 403 session_aal2_required or session_refresh_required). When Ory cannot answer the guard
// answers 5xx and the handler never runs. The verified session is in the request context:
// [SessionFromContext].
package nethttp
