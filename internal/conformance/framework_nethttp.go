package conformance

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/nethttp"
)

// serveNetHTTP builds the conformance app with net/http's ServeMux.
func serveNetHTTP(t testing.TB, app App) string {
	srv := httptest.NewServer(netHTTPRoutes(app))
	t.Cleanup(srv.Close)
	return srv.URL
}

func netHTTPRoutes(app App) http.Handler {
	v := orymfa.WithVerifier(app.Verifier)
	handle := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := orymfa.SessionFromContext(r.Context())
		fromCtx, _ := core.SessionFromContext(r.Context())
		status, body := app.Handle(s, fromCtx)
		writeBody(w, status, body)
	})
	deny := orymfa.WithDenyHandler(func(w http.ResponseWriter, r *http.Request, d *orymfa.Decision) {
		status, body := app.Deny(d)
		writeBody(w, status, body)
	})
	// A net/http deny handler has no "next" in reach: it can only write.
	writeDecision := orymfa.WithDenyHandler(func(w http.ResponseWriter, r *http.Request, d *orymfa.Decision) {
		orymfa.WriteDecision(w, d)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /public", handle)
	mux.Handle("GET /session", orymfa.RequireSession(v)(handle))
	mux.Handle("GET /aal2", orymfa.RequireAAL2(v)(handle))
	mux.Handle("POST /aal2", orymfa.RequireAAL2(v)(handle))
	mux.Handle("GET /fresh", orymfa.RequireAAL2(v, orymfa.WithMaxAge(app.MaxAge))(handle))
	group := http.NewServeMux()
	group.Handle("GET /group/aal2", orymfa.RequireAAL2(v)(handle))
	group.Handle("GET /group/fresh", orymfa.RequireAAL2(v, orymfa.WithMaxAge(app.MaxAge))(handle))
	mux.Handle("/group/", orymfa.RequireSession(v)(group))
	two := http.NewServeMux()
	two.Handle("GET /two/aal2", orymfa.RequireAAL2(orymfa.WithVerifier(app.Other))(handle))
	mux.Handle("/two/", orymfa.RequireSession(v)(two))
	mux.Handle("GET /api/aal2", orymfa.RequireAAL2(v, orymfa.WithMode(orymfa.ModeAPI))(handle))
	mux.Handle("GET /browser/session", orymfa.RequireSession(v, orymfa.WithMode(orymfa.ModeBrowser))(handle))
	mux.Handle("GET /custom/aal2", orymfa.RequireAAL2(v, deny)(handle))
	mux.Handle("GET /next/aal2", orymfa.RequireAAL2(v, writeDecision)(handle))
	return beginNetHTTP(app, mux)
}

// beginNetHTTP runs app.Begin around every request of h.
func beginNetHTTP(app App, h http.Handler) http.Handler {
	if app.Begin == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, end := app.begin(r.Context(), Incoming{Method: r.Method, Path: r.URL.Path, Header: r.Header.Get, SetHeader: w.Header().Set})
		defer end()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// zeroNetHTTP builds a guard with no options, as the zero-config user does.
func zeroNetHTTP(aal2 bool) {
	if aal2 {
		orymfa.RequireAAL2()
		return
	}
	orymfa.RequireSession()
}
