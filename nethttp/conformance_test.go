package nethttp_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/conformance"
	"github.com/orymfa/orymfa/nethttp"
)

func TestMain(m *testing.M) { os.Exit(conformance.Main(m)) }

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Adapter{Name: "nethttp", Serve: serve})
}

// serve builds the conformance app with net/http's ServeMux.
func serve(t *testing.T, app conformance.App) string {
	v := nethttp.WithVerifier(app.Verifier)
	handle := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := nethttp.SessionFromContext(r.Context())
		fromCtx, _ := core.SessionFromContext(r.Context())
		status, body := app.Handle(s, fromCtx)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	})
	deny := nethttp.WithDenyHandler(func(w http.ResponseWriter, r *http.Request, d *core.Decision) {
		status, body := app.Deny(d)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /public", handle)
	mux.Handle("GET /session", nethttp.RequireSession(v)(handle))
	mux.Handle("GET /aal2", nethttp.RequireAAL2(v)(handle))
	mux.Handle("GET /fresh", nethttp.RequireAAL2(v, nethttp.WithMaxAge(app.MaxAge))(handle))
	group := http.NewServeMux()
	group.Handle("GET /group/aal2", nethttp.RequireAAL2(v)(handle))
	mux.Handle("/group/", nethttp.RequireSession(v)(group))
	mux.Handle("GET /api/aal2", nethttp.RequireAAL2(v, nethttp.WithMode(core.ModeAPI))(handle))
	mux.Handle("GET /browser/session", nethttp.RequireSession(v, nethttp.WithMode(core.ModeBrowser))(handle))
	mux.Handle("GET /custom/aal2", nethttp.RequireAAL2(v, deny)(handle))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}
