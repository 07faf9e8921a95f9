// Command chi is a small chi app whose routes are protected by orymfa:
//
//	/          public; the header still shows who is signed in
//	/account   any Ory session (RequireSession)
//	/transfer  a second factor proven within the last five minutes (RequireAAL2)
//	/api/me    the identity as JSON, for API clients with a session token
//
// The HTML pages come from examples/internal/page, which every example shares: this file is
// the app's routes and its guards.
//
// Run it next to Ory (or Kratos) with ORY_SDK_URL set, as in Ory's guides:
//
//	ORY_SDK_URL=http://127.0.0.1:4433 go run .
//
// scripts/demo.sh chi in the orymfa repository starts Kratos, a login UI and this app together.
package main

import (
	"cmp"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/go-chi/chi/v5"

	orymfa "github.com/orymfa/orymfa/chi"
	"github.com/orymfa/orymfa/examples/internal/page"
)

func main() {
	addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:4455")
	log.Printf("listening on http://%s (Ory at %s)", addr, os.Getenv("ORY_SDK_URL"))
	srv := &http.Server{Addr: addr, Handler: newApp(), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// newApp builds the app's routes. The guards read ORY_SDK_URL and panic here, at startup,
// when it is missing.
func newApp() http.Handler {
	site := page.New()
	render := func(w http.ResponseWriter, r *http.Request, title, text string) {
		s, _ := orymfa.SessionFromContext(r.Context())
		w.Header().Set("Content-Type", page.ContentType)
		if err := site.Render(r.Context(), w, r.Header.Get("Cookie"), s, title, text); err != nil {
			log.Printf("render %s: %v", title, err)
		}
	}

	r := chi.NewRouter()
	// The Ory session cookie is SameSite=Lax, which a form on a sibling subdomain gets past:
	// refuse cross-origin POSTs (and other unsafe methods) from browsers.
	r.Use(http.NewCrossOriginProtection().Handler)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		render(w, r, "Home", "Anyone can see this page.")
	})
	r.Group(func(r chi.Router) {
		r.Use(orymfa.RequireSession())
		r.Get("/account", func(w http.ResponseWriter, r *http.Request) {
			render(w, r, "Account", "Any signed-in user can see this page.")
		})
		r.Get("/api/me", func(w http.ResponseWriter, r *http.Request) {
			s, _ := orymfa.SessionFromContext(r.Context())
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(s.Identity)
		})
	})
	// Moving money needs a second factor proven in the last five minutes.
	r.Group(func(r chi.Router) {
		r.Use(orymfa.RequireAAL2(orymfa.WithMaxAge(5 * time.Minute)))
		r.Get("/transfer", func(w http.ResponseWriter, r *http.Request) {
			render(w, r, "Transfer", "You proved your second factor recently: you may move money.")
		})
		r.Post("/transfer", func(w http.ResponseWriter, r *http.Request) {
			render(w, r, "Transfer", "Sent €"+r.PostFormValue("amount")+". (Not really: this is a demo.)")
		})
	})
	return r
}
