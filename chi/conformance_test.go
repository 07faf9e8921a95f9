package chi_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/go-chi/chi/v5"

	orymchi "github.com/orymfa/orymfa/chi"
	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/conformance"
)

func TestMain(m *testing.M) { os.Exit(conformance.Main(m)) }

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Adapter{Name: "chi", Serve: serve})
}

// serve builds the conformance app the chi way: r.Group + r.Use for the group, r.With per route.
func serve(t *testing.T, app conformance.App) string {
	v := orymchi.WithVerifier(app.Verifier)
	handle := func(w http.ResponseWriter, r *http.Request) {
		s, _ := orymchi.SessionFromContext(r.Context())
		fromCtx, _ := core.SessionFromContext(r.Context())
		status, body := app.Handle(s, fromCtx)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}
	deny := orymchi.WithDenyHandler(func(w http.ResponseWriter, r *http.Request, d *core.Decision) {
		status, body := app.Deny(d)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	})
	r := chi.NewRouter()
	r.Get("/public", handle)
	r.With(orymchi.RequireSession(v)).Get("/session", handle)
	r.With(orymchi.RequireAAL2(v)).Get("/aal2", handle)
	r.With(orymchi.RequireAAL2(v, orymchi.WithMaxAge(app.MaxAge))).Get("/fresh", handle)
	r.Route("/group", func(r chi.Router) {
		r.Use(orymchi.RequireSession(v))
		r.With(orymchi.RequireAAL2(v)).Get("/aal2", handle)
	})
	r.With(orymchi.RequireAAL2(v, orymchi.WithMode(core.ModeAPI))).Get("/api/aal2", handle)
	r.With(orymchi.RequireSession(v, orymchi.WithMode(core.ModeBrowser))).Get("/browser/session", handle)
	r.With(orymchi.RequireAAL2(v, deny)).Get("/custom/aal2", handle)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}
