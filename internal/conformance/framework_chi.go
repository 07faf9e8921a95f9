package conformance

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	orymfa "github.com/orymfa/orymfa/chi"
	"github.com/orymfa/orymfa/core"
)

// serveChi builds the conformance app with chi: r.Use on groups, r.With on routes.
func serveChi(t testing.TB, app App) string {
	v := orymfa.WithVerifier(app.Verifier)
	handle := func(w http.ResponseWriter, r *http.Request) {
		s, _ := orymfa.SessionFromContext(r.Context())
		fromCtx, _ := core.SessionFromContext(r.Context())
		status, body := app.Handle(s, fromCtx)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}
	deny := orymfa.WithDenyHandler(func(w http.ResponseWriter, r *http.Request, d *orymfa.Decision) {
		status, body := app.Deny(d)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	})
	r := chi.NewRouter()
	r.Get("/public", handle)
	r.With(orymfa.RequireSession(v)).Get("/session", handle)
	r.With(orymfa.RequireAAL2(v)).Get("/aal2", handle)
	r.With(orymfa.RequireAAL2(v, orymfa.WithMaxAge(app.MaxAge))).Get("/fresh", handle)
	r.Route("/group", func(r chi.Router) {
		r.Use(orymfa.RequireSession(v))
		r.With(orymfa.RequireAAL2(v)).Get("/aal2", handle)
		r.With(orymfa.RequireAAL2(v, orymfa.WithMaxAge(app.MaxAge))).Get("/fresh", handle)
	})
	r.Route("/two", func(r chi.Router) {
		r.Use(orymfa.RequireSession(v))
		r.With(orymfa.RequireAAL2(orymfa.WithVerifier(app.Other))).Get("/aal2", handle)
	})
	r.With(orymfa.RequireAAL2(v, orymfa.WithMode(orymfa.ModeAPI))).Get("/api/aal2", handle)
	r.With(orymfa.RequireSession(v, orymfa.WithMode(orymfa.ModeBrowser))).Get("/browser/session", handle)
	r.With(orymfa.RequireAAL2(v, deny)).Get("/custom/aal2", handle)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}
