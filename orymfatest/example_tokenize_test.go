package orymfatest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
)

// Testing an API in JWT mode: the kit mints the JWTs a Kratos template with core.ClaimsMapper
// would, and TokenConfig is what the verifier needs to accept them.
func ExampleServer_Tokenize() {
	t := newExampleT() // in a test: t itself
	defer t.done()
	ory := orymfatest.NewServer(t)
	v := core.MustNew(core.Config{SDKURL: ory.URL, AppURL: "https://app.example", Tokens: ory.TokenConfig()})
	api := orymfa.RequireAAL2(orymfa.WithVerifier(v))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := orymfa.SessionFromContext(r.Context())
		fmt.Fprint(w, s.GetAuthenticatorAssuranceLevel())
	}))

	jwt := ory.Tokenize(ory.SignIn(ory.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2))
	req := httptest.NewRequest(http.MethodPost, "/transfer", nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String(), "whoami calls:", ory.Calls())
	// Output: 200 aal2 whoami calls: 0
}
