package orymfa_test

import (
	"log"
	"net/http"
	"os"
	"time"

	orymfa "github.com/orymfa/orymfa/nethttp"
)

// An API that verifies Ory's session JWTs itself: a front end mints one with
// whoami?tokenize_as=orymfa and sends it as "Authorization: Bearer <jwt>"; the guards check it
// with the template's public key set and never ask Ory. Session tokens and cookies still work,
// through whoami, on the same routes.
func ExampleTokenConfig() {
	jwks, err := os.ReadFile("/etc/orymfa/tokenizer.public.jwks.json") // the public half of the template's key set
	if err != nil {
		log.Fatal(err)
	}
	v, err := orymfa.New(orymfa.Config{
		SDKURL: "https://my-project.projects.oryapis.com",
		AppURL: "https://shop.example.com",
		Tokens: orymfa.TokenConfig{
			JWKS:   jwks,
			MaxTTL: 10 * time.Minute, // the template's ttl: refuse anything that lives longer
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	api := http.NewServeMux()
	api.Handle("GET /api/me", orymfa.RequireSession(orymfa.WithVerifier(v))(http.HandlerFunc(account)))
	api.Handle("POST /api/transfer", orymfa.RequireAAL2(orymfa.WithVerifier(v), orymfa.WithMaxAge(5*time.Minute))(http.HandlerFunc(transfer)))
	log.Fatal(http.ListenAndServe("127.0.0.1:4455", api))
}
