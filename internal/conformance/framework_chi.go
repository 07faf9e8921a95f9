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
		writeBody(w, status, body)
	}
	deny := orymfa.WithDenyHandler(func(w http.ResponseWriter, r *http.Request, d *orymfa.Decision) {
		status, body := app.Deny(d)
		writeBody(w, status, body)
	})
	writeDecision := orymfa.WithDenyHandler(func(w http.ResponseWriter, r *http.Request, d *orymfa.Decision) {
		orymfa.WriteDecision(w, d)
	})
	r := chi.NewRouter()
	r.Get("/public", handle)
	r.With(orymfa.RequireSession(v)).Get("/session", handle)
	r.With(orymfa.RequireAAL2(v)).Get("/aal2", handle)
	r.With(orymfa.RequireAAL2(v)).Post("/aal2", handle)
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
	r.With(orymfa.RequireAAL2(v, writeDecision)).Get("/next/aal2", handle)
	srv := httptest.NewServer(beginNetHTTP(app, r))
	t.Cleanup(srv.Close)
	return srv.URL
}

// zeroChi builds a guard with no options, as the zero-config user does.
func zeroChi(aal2 bool) {
	if aal2 {
		orymfa.RequireAAL2()
		return
	}
	orymfa.RequireSession()
}
