// Package chi protects chi routes with Ory sessions and step-up authentication.
//
// chi middleware is plain net/http middleware, so this package is the [nethttp] adapter under
// chi's name; it imports nothing of chi at run time:
//
//	r := chi.NewRouter()
//	r.Get("/", home)
//	r.Group(func(r chi.Router) {
//		r.Use(orymchi.RequireSession())
//		r.Get("/account", account)
//		r.With(orymchi.RequireAAL2(orymchi.WithMaxAge(5 * time.Minute))).Post("/transfer", transfer)
//	})
//
// Stacked guards (r.Use on a group, r.With on a route) ask Ory at most once per request: the
// second reuses the session the first stored in the request context.
package chi
