// Command nethttp is a small net/http app whose routes are protected by orymfa:
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
// scripts/demo.sh in the orymfa repository starts Kratos, a login UI and this app together.
package main

import (
	"cmp"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/orymfa/orymfa/examples/internal/page"
	orymfa "github.com/orymfa/orymfa/nethttp"
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
	signedIn := orymfa.RequireSession()
	stepUp := orymfa.RequireAAL2(orymfa.WithMaxAge(5 * time.Minute))
	site := page.New()
	render := func(w http.ResponseWriter, r *http.Request, title, text string) {
		s, _ := orymfa.SessionFromContext(r.Context())
		w.Header().Set("Content-Type", page.ContentType)
		if err := site.Render(r.Context(), w, r.Header.Get("Cookie"), s, title, text); err != nil {
			log.Printf("render %s: %v", title, err)
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		render(w, r, "Home", "Anyone can see this page.")
	})
	mux.Handle("GET /account", signedIn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		render(w, r, "Account", "Any signed-in user can see this page.")
	})))
	// Moving money needs a second factor proven in the last five minutes.
	mux.Handle("GET /transfer", stepUp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		render(w, r, "Transfer", "You proved your second factor recently: you may move money.")
	})))
	mux.Handle("POST /transfer", stepUp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		render(w, r, "Transfer", "Sent €"+r.PostFormValue("amount")+". (Not really: this is a demo.)")
	})))
	mux.Handle("GET /api/me", signedIn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := orymfa.SessionFromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Identity)
	})))
	// The Ory session cookie is SameSite=Lax, which a form on a sibling subdomain gets past:
	// refuse cross-origin POSTs (and other unsafe methods) from browsers.
	return http.NewCrossOriginProtection().Handler(mux)
}
