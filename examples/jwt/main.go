// Command jwt is an API that verifies Ory's session JWTs itself (Ory's tokenized sessions),
// so that its replicas never ask Ory on the hot path:
//
//	GET  /token          a browser's Ory session cookie in, a JWT of that session out (minted by
//	                     Ory with the template "orymfa", cached until shortly before it expires)
//	GET  /api/me         any session: "Authorization: Bearer <JWT>", verified here; a session
//	                     token or cookie still works, through whoami
//	POST /api/transfer   a second factor proven within the last five minutes
//
// The Ory project needs a tokenizer template "orymfa" with core.ClaimsMapper and a ttl (see
// the README); the app is given the public half of the template's key set:
//
//	ORY_SDK_URL=https://$SLUG.projects.oryapis.com ORYMFA_JWKS=public.jwks.json go run .
package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/nethttp"
)

func main() {
	jwks, err := os.ReadFile(os.Getenv("ORYMFA_JWKS"))
	if err != nil {
		log.Fatalf("ORYMFA_JWKS: %v", err)
	}
	v, err := orymfa.New(orymfa.Config{
		SDKURL: os.Getenv("ORY_SDK_URL"),
		AppURL: cmp.Or(os.Getenv("APP_URL"), "http://127.0.0.1:4455"),
		Tokens: orymfa.TokenConfig{
			JWKS:   jwks,
			MaxTTL: 10 * time.Minute, // the template's ttl: a token that lives longer is refused
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: "127.0.0.1:4455", Handler: newApp(v), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// newApp builds the routes on one verifier: one cache of verified tokens and sessions.
func newApp(v *orymfa.Verifier) http.Handler {
	signedIn := orymfa.RequireSession(orymfa.WithVerifier(v))
	stepUp := orymfa.RequireAAL2(orymfa.WithVerifier(v), orymfa.WithMaxAge(5*time.Minute))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) {
		req := core.RequestFromHTTP(r)
		jwt, err := v.SessionJWT(r.Context(), &req)
		switch {
		case errors.Is(err, orymfa.ErrNoSession):
			http.Error(w, "sign in first", http.StatusUnauthorized)
		case errors.Is(err, orymfa.ErrAAL2Required):
			http.Error(w, "prove your second factor first", http.StatusForbidden)
		case err != nil:
			http.Error(w, "try again later", http.StatusServiceUnavailable)
		default:
			writeJSON(w, map[string]string{"token": jwt})
		}
	})
	mux.Handle("GET /api/me", signedIn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := orymfa.SessionFromContext(r.Context())
		writeJSON(w, map[string]string{"identity": s.Identity.Id, "aal": string(s.GetAuthenticatorAssuranceLevel())})
	})))
	mux.Handle("POST /api/transfer", stepUp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"status": "sent"})
	})))
	return http.NewCrossOriginProtection().Handler(mux)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
