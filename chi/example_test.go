package orymfa_test

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/go-chi/chi/v5"

	orymfa "github.com/orymfa/orymfa/chi"
)

// The quick start with chi: r.Use on a group, r.With on a route.
func Example() {
	os.Setenv("ORY_SDK_URL", "http://127.0.0.1:4433") // usually set in the environment

	r := chi.NewRouter()
	r.Get("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "public") })
	r.Group(func(r chi.Router) {
		r.Use(orymfa.RequireSession())
		r.Get("/account", func(w http.ResponseWriter, r *http.Request) {
			s, _ := orymfa.SessionFromContext(r.Context())
			fmt.Fprintf(w, "hello %s\n", s.Identity.Id)
		})
		r.With(orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute))).Post("/transfer", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "transferred")
		})
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:4455", r))
}
