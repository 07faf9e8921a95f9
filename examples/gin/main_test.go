package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/orymfa/orymfa/examples/internal/exampletest"
	"github.com/orymfa/orymfa/orymfatest"
)

func TestMain(m *testing.M) { os.Exit(exampletest.Main(m)) }

// serve runs the app on loopback for the shared scenarios.
func serve(t *testing.T) string {
	srv := httptest.NewServer(newApp())
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestWithKit(t *testing.T)    { exampletest.RunWithKit(t, serve) }
func TestWithKratos(t *testing.T) { exampletest.Run(t, serve) }

// TestTransfer is how you would test this app yourself without running Ory: orymfatest is a
// fake Ory that answers whoami as Kratos does, and the app finds it through ORY_SDK_URL.
func TestTransfer(t *testing.T) {
	ory := orymfatest.NewServer(t)
	t.Setenv("ORY_SDK_URL", ory.URL)
	app := newApp()
	serve := func(req *http.Request) *http.Response {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		return rec.Result()
	}

	// A browser without a session is sent to Ory's login, and back to /transfer afterwards.
	req := httptest.NewRequest(http.MethodGet, "/transfer", nil)
	req.Header.Set("Accept", "text/html")
	res := serve(req)
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || loc.Path != "/self-service/login/browser" ||
		loc.Query().Get("return_to") != "http://example.com/transfer" {
		t.Errorf("anonymous: %d to %s, want 303 to Ory's login returning to /transfer", res.StatusCode, loc)
	}

	// Ada has a second factor but signed in with her password only: /api/me wants the second
	// factor first, and says so as Ory would.
	ada := ory.NewIdentity(orymfatest.WithSecondFactor())
	token := ory.SignIn(ada, orymfatest.AAL1)
	me := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	me.Header.Set("X-Session-Token", token)
	res = serve(me)
	if body, _ := io.ReadAll(res.Body); res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "session_aal2_required") {
		t.Errorf("aal1: %d %s, want 403 session_aal2_required", res.StatusCode, body)
	}

	// After the step-up the same token is aal2.
	ory.StepUp(token)
	res = serve(me)
	if body, _ := io.ReadAll(res.Body); res.StatusCode != http.StatusOK || !strings.Contains(string(body), ada.ID) {
		t.Errorf("aal2: %d %s, want 200 with Ada's identity", res.StatusCode, body)
	}

	// The transfer form posted from the app's own pages goes through. Posted from a sibling
	// subdomain (same-site: the SameSite=Lax session cookie comes along) or another site, the
	// browser says so in Sec-Fetch-Site and the app refuses it.
	for _, tc := range []struct {
		site string
		want int
	}{{"same-origin", http.StatusOK}, {"same-site", http.StatusForbidden}, {"cross-site", http.StatusForbidden}} {
		req := httptest.NewRequest(http.MethodPost, "/transfer", strings.NewReader("amount=100"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", tc.site)
		req.AddCookie(ory.Cookie(token))
		if res := serve(req); res.StatusCode != tc.want {
			t.Errorf("%s POST /transfer: %d, want %d", tc.site, res.StatusCode, tc.want)
		}
	}
}
