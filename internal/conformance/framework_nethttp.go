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
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	})
	deny := orymfa.WithDenyHandler(func(w http.ResponseWriter, r *http.Request, d *orymfa.Decision) {
		status, body := app.Deny(d)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /public", handle)
	mux.Handle("GET /session", orymfa.RequireSession(v)(handle))
	mux.Handle("GET /aal2", orymfa.RequireAAL2(v)(handle))
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
	return mux
}
