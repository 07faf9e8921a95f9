package orymfa_test

import (
	"fmt"
	"log"
	"net/http"
	"time"

	orymfa "github.com/orymfa/orymfa/nethttp"
)

// The quick start: a public page, a page for signed-in users, and a money-moving route that
// needs a second factor proven in the last five minutes. Set ORY_SDK_URL to your Ory project
// URL or Kratos public URL.
func Example() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "public") })
	mux.Handle("GET /account", orymfa.RequireSession()(http.HandlerFunc(account)))
	mux.Handle("POST /transfer", orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute))(http.HandlerFunc(transfer)))
	log.Fatal(http.ListenAndServe("127.0.0.1:4455", mux))
}

func account(w http.ResponseWriter, r *http.Request) {
	s, _ := orymfa.SessionFromContext(r.Context())
	fmt.Fprintf(w, "hello %v (%s)\n", s.Identity.Traits, s.GetAuthenticatorAssuranceLevel())
}

func transfer(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintln(w, "transferred")
}

// Explicit configuration instead of ORY_SDK_URL, with the same import: a Lax project, the
// app's public origin for return_to, and a verifier shared by all guards (and so one cache).
func ExampleNew() {
	v, err := orymfa.New(orymfa.Config{
		SDKURL:      "https://my-project.projects.oryapis.com",
		AppURL:      "https://shop.example.com",
		Enforcement: orymfa.LaxStepUp,
		Timeout:     3 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	api := http.NewServeMux()
	api.Handle("GET /api/me", orymfa.RequireSession(orymfa.WithVerifier(v), orymfa.WithMode(orymfa.ModeAPI))(http.HandlerFunc(account)))
	api.Handle("POST /api/transfer", orymfa.RequireAAL2(orymfa.WithVerifier(v))(http.HandlerFunc(transfer)))
}

// Stacked guards ask Ory once: RequireSession on a sub-tree, RequireAAL2 on one route.
func ExampleRequireAAL2() {
	admin := http.NewServeMux()
	admin.Handle("POST /admin/keys", orymfa.RequireAAL2()(http.HandlerFunc(transfer)))
	admin.HandleFunc("GET /admin/", account)

	mux := http.NewServeMux()
	mux.Handle("/admin/", orymfa.RequireSession()(admin))
}

// A deny handler renders your own page; the decision says what happened and where Ory's flow is.
func ExampleWithDenyHandler() {
	guard := orymfa.RequireAAL2(orymfa.WithDenyHandler(func(w http.ResponseWriter, r *http.Request, d *orymfa.Decision) {
		if d.Outcome == orymfa.Unavailable {
			http.Error(w, "Sign-in is unavailable, try again in a minute.", d.Status)
			return
		}
		orymfa.WriteDecision(w, d) // the default redirect or JSON
	}))
	_ = guard(http.HandlerFunc(transfer))
}
