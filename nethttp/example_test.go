package nethttp_test

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/nethttp"
)

// The quick start: a public page, a page for signed-in users, and a money-moving route that
// needs a second factor proven in the last five minutes. ORY_SDK_URL is your Ory project URL
// or Kratos public URL.
func Example() {
	os.Setenv("ORY_SDK_URL", "http://127.0.0.1:4433") // usually set in the environment

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "public")
	})
	mux.Handle("GET /account", nethttp.RequireSession()(http.HandlerFunc(account)))
	mux.Handle("POST /transfer", nethttp.RequireAAL2(nethttp.WithMaxAge(5*time.Minute))(http.HandlerFunc(transfer)))

	log.Fatal(http.ListenAndServe("127.0.0.1:4455", mux))
}

func account(w http.ResponseWriter, r *http.Request) {
	s, _ := nethttp.SessionFromContext(r.Context())
	fmt.Fprintf(w, "hello %v (%s)\n", s.Identity.Traits, s.GetAuthenticatorAssuranceLevel())
}

func transfer(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintln(w, "transferred")
}

// Explicit configuration instead of ORY_SDK_URL: a Lax project, the app's public origin for
// return_to, and a verifier shared by all guards (and so one session cache).
func ExampleWithVerifier() {
	v, err := core.New(core.Config{
		SDKURL:      "https://my-project.projects.oryapis.com",
		AppURL:      "https://shop.example.com",
		Enforcement: core.LaxStepUp,
		Timeout:     3 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	api := http.NewServeMux()
	api.Handle("GET /api/me", nethttp.RequireSession(nethttp.WithVerifier(v), nethttp.WithMode(core.ModeAPI))(http.HandlerFunc(account)))
}

// Stacked guards ask Ory once: RequireSession on a sub-tree, RequireAAL2 on one route.
func ExampleRequireAAL2() {
	admin := http.NewServeMux()
	admin.Handle("POST /admin/keys", nethttp.RequireAAL2()(http.HandlerFunc(transfer)))
	admin.HandleFunc("GET /admin/", account)

	mux := http.NewServeMux()
	mux.Handle("/admin/", nethttp.RequireSession()(admin))
}

// A deny handler renders your own page; the decision says what happened and where Ory's flow is.
func ExampleWithDenyHandler() {
	guard := nethttp.RequireAAL2(nethttp.WithDenyHandler(func(w http.ResponseWriter, r *http.Request, d *core.Decision) {
		if d.Outcome == core.Unavailable {
			http.Error(w, "Sign-in is unavailable, try again in a minute.", d.Status)
			return
		}
		nethttp.WriteDecision(w, d) // the default redirect or JSON
	}))
	_ = guard(http.HandlerFunc(transfer))
}
