package orymfa_test

// This test is the README's "Testing your handlers" section for net/http, copied unchanged: a
// user who writes it from the README gets a test that compiles and passes.

import (
	"net/http"
	"net/http/httptest"
	"testing"

	orymfa "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
)

func transferFor(w http.ResponseWriter, r *http.Request) {
	s, _ := orymfa.SessionFromContext(r.Context())
	w.Write([]byte("transferred for " + s.Identity.Id))
}

func TestTransferNeedsSecondFactor(t *testing.T) {
	ory := orymfatest.NewServer(t) // a fake Ory on loopback, closed when the test ends
	v, err := orymfa.New(orymfa.Config{SDKURL: ory.URL})
	if err != nil {
		t.Fatal(err)
	}
	app := orymfa.RequireAAL2(orymfa.WithVerifier(v))(http.HandlerFunc(transferFor))

	alice := ory.NewIdentity(orymfatest.WithSecondFactor()) // a user who has set up TOTP
	token := ory.SignIn(alice, orymfatest.AAL1)             // signed in with the password only

	post := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/transfer", nil)
		req.Header.Set("X-Session-Token", token)
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		return rec
	}
	if rec := post(); rec.Code != http.StatusForbidden {
		t.Fatalf("password only: got %d, want 403", rec.Code)
	}

	ory.StepUp(token) // the user proves TOTP; the token stays the same
	if rec := post(); rec.Code != http.StatusOK || rec.Body.String() != "transferred for "+alice.ID {
		t.Fatalf("with TOTP: got %d %q", rec.Code, rec.Body)
	}
}

func TestTransferHandlerAlone(t *testing.T) {
	s := orymfatest.NewSession(orymfatest.AAL2)
	rec := httptest.NewRecorder()
	transferFor(rec, orymfatest.WithSession(httptest.NewRequest(http.MethodPost, "/transfer", nil), s))
	if rec.Body.String() != "transferred for "+s.Identity.Id {
		t.Fatalf("%q", rec.Body)
	}
}
