package core_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
)

// JWT mode against the test kit, which mints like Kratos with core.ClaimsMapper: an aal2 token
// passes without a whoami call, an aal1 token gets the step-up answer, and a token that was
// tampered with is refused as invalid_token. A front end that gets the 403 steps up in Ory and
// mints a new token: the old one keeps the AAL it was minted with.
func ExampleTokenConfig() {
	ory := orymfatest.NewServer(&testing.T{})
	v := core.MustNew(core.Config{
		SDKURL: ory.URL,
		AppURL: "https://app.example",
		Tokens: ory.TokenConfig(), // with Ory: core.TokenConfig{JWKS: <the template's public keys>}
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	app := orymfa.RequireAAL2(orymfa.WithVerifier(v))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := orymfa.SessionFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", s.GetAuthenticatorAssuranceLevel())
	}))

	user := ory.NewIdentity()
	aal1 := ory.Tokenize(ory.SignIn(user, orymfatest.AAL1))
	aal2 := ory.Tokenize(ory.SignIn(user, orymfatest.AAL2))
	for _, tc := range []struct{ name, jwt string }{
		{"aal2 token", aal2},
		{"aal1 token", aal1},
		{"tampered", aal2[:len(aal2)-8] + "AAAAAAAA"},
	} {
		req := httptest.NewRequest(http.MethodGet, "/transfer", nil)
		req.Header.Set("Authorization", "Bearer "+tc.jwt)
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		challenge := rec.Header().Get("WWW-Authenticate")
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s: %d %.40s", tc.name, rec.Code, challenge)))
	}
	fmt.Println("whoami calls:", ory.Calls())
	// Output:
	// aal2 token: 200
	// aal1 token: 403 Bearer error="insufficient_user_authenti
	// tampered: 401 Bearer error="invalid_token", error_desc
	// whoami calls: 0
}
