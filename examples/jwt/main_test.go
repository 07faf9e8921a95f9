package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// TestTokens runs the app against the test kit, which mints like Kratos: a browser gets a JWT
// for its session, and the API decides on the JWT without asking Ory.
func TestTokens(t *testing.T) {
	ory := orymfatest.NewServer(t)
	v := core.MustNew(core.Config{SDKURL: ory.URL, AppURL: "http://example.com", Tokens: ory.TokenConfig()})
	app := newApp(v)
	do := func(method, path string, set func(*http.Request)) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		set(req)
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		return rec
	}
	mint := func(token string) string {
		rec := do(http.MethodGet, "/token", func(r *http.Request) { r.AddCookie(ory.Cookie(token)) })
		var body struct{ Token string }
		if err := json.NewDecoder(rec.Body).Decode(&body); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("/token: %d %v", rec.Code, err)
		}
		return body.Token
	}
	bearer := func(jwt string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+jwt) }
	}

	ada := ory.NewIdentity()
	token := ory.SignIn(ada, orymfatest.AAL1)
	jwt := mint(token)
	ory.ResetCalls()
	if rec := do(http.MethodGet, "/api/me", bearer(jwt)); rec.Code != http.StatusOK {
		t.Errorf("/api/me: %d %s", rec.Code, rec.Body)
	}
	// Ada has no second factor yet: the JWT says aal1, and the API says to set one up.
	if rec := do(http.MethodPost, "/api/transfer", bearer(jwt)); rec.Code != http.StatusForbidden {
		t.Errorf("/api/transfer with aal1: %d %s", rec.Code, rec.Body)
	}
	if ory.Calls() != 0 {
		t.Errorf("%d whoami calls for JWTs", ory.Calls())
	}
	// After enrolling, the browser mints again (the cookie changed) and may transfer.
	ory.StepUp(token)
	if rec := do(http.MethodPost, "/api/transfer", bearer(mint(token))); rec.Code != http.StatusOK {
		t.Errorf("/api/transfer with aal2: %d %s", rec.Code, rec.Body)
	}
	if rec := do(http.MethodGet, "/token", func(*http.Request) {}); rec.Code != http.StatusUnauthorized {
		t.Errorf("/token without a session: %d", rec.Code)
	}
}
