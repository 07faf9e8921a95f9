// Package orymfa protects chi routes with Ory sessions and step-up authentication.
//
//	import orymfa "github.com/orymfa/orymfa/chi"
//
//	r := chi.NewRouter()
//	r.Get("/", home)
//	r.Group(func(r chi.Router) {
//		r.Use(orymfa.RequireSession())
//		r.Get("/account", account)
//		r.With(orymfa.RequireAAL2(orymfa.WithMaxAge(5 * time.Minute))).Post("/transfer", transfer)
//	})
//
// chi middleware is plain net/http middleware, so this package is the net/http adapter
// (github.com/orymfa/orymfa/nethttp) under chi's name: its [Option] and [DenyHandler] are
// nethttp's own types (aliases), so the two packages' options mix, and it imports nothing of
// chi at run time. Stacked guards (r.Use on a group, r.With on a route)
// ask Ory at most once per request: the second reuses the session the first stored in the
// request context.
//
// Put CORS middleware (go-chi/cors) before the guard: a CORS preflight (OPTIONS) carries no
// credentials, so the guard would redirect or refuse it.
//
// This package re-exports what its users need from package core ([Config], [New], the modes,
// outcomes and errors), so one import covers the configured case too.
package orymfa

//go:generate go run -C ../internal ./exports/genexports chi
