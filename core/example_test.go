package core_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// An adapter for a framework orymfa does not cover is a few lines around Guard.Check: collect
// the request facts, let the guard decide, and either run the handler with the session in the
// context or write the denial the core built. This one is for plain net/http, shown against
// the test kit so that it runs.
func ExampleGuard_Check() {
	ory := orymfatest.NewServer(&testing.T{})
	v := core.MustNew(core.Config{SDKURL: ory.URL, AppURL: "https://app.example", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	guard, err := core.NewGuard(core.RequireAAL2, core.WithVerifier(v))
	if err != nil {
		panic(err) // a configuration error, named
	}

	protect := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req := core.RequestFromHTTP(r) // fasthttp-based frameworks fill core.Request themselves
			d := guard.Check(r.Context(), &req)
			if d.Allowed() {
				if !d.FromContext { // an earlier guard of the same verifier stored it already
					r = r.WithContext(d.Context(r.Context()))
				}
				next.ServeHTTP(w, r)
				return
			}
			for k, vs := range d.Header { // the complete response: a redirect, JSON or a page
				w.Header()[k] = vs
			}
			w.WriteHeader(d.Status)
			w.Write(d.Body)
		})
	}
	app := protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.SessionFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", s.GetAuthenticatorAssuranceLevel())
	}))

	token := ory.SignIn(ory.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	for _, step := range []string{"password only", "after the second factor"} {
		if step != "password only" {
			ory.StepUp(token)
		}
		req := httptest.NewRequest(http.MethodGet, "/transfer", nil)
		req.Header.Set("X-Session-Token", token)
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		fmt.Println(step+":", rec.Code, rec.Body.String()[:min(rec.Body.Len(), 30)])
	}
	// Output:
	// password only: 403 {"error":{"id":"session_aal2_r
	// after the second factor: 200 hello aal2
}
