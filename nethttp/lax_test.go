package nethttp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/kratostest"
	"github.com/orymfa/orymfa/nethttp"
)

// TestLaxProject runs against a real Kratos with session.whoami.required_aal: aal1, where
// whoami answers 200 aal1 even for a user who has a second factor. RequireSession lets such a
// session in; RequireAAL2 still enforces aal2 locally and sends the user where the app's
// Enforcement says: the step-up login (LaxStepUp) or the settings flow (LaxEnroll).
func TestLaxProject(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := kratostest.Start(ctx, kratostest.TOTP, kratostest.WithLax())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	// A user with TOTP who signs in again with the password only: aal1 on a Lax project.
	email := kratostest.NewEmail()
	first, err := p.RegisterAPI(ctx, email, kratostest.Password)
	must(t, err)
	secret, err := p.EnrollTOTPAPI(ctx, first)
	must(t, err)
	token, err := p.LoginAPI(ctx, email, kratostest.Password)
	must(t, err)
	if status, body, err := p.Whoami(ctx, token); err != nil || status != 200 || kratostest.AAL(body) != "aal1" {
		t.Fatalf("Lax whoami for an aal1 session of a TOTP user: %d %s %v, want 200 aal1", status, body, err)
	}

	serve := func(enforce core.Enforcement) string {
		v := nethttp.WithVerifier(core.MustNew(core.Config{SDKURL: p.PublicURL, Enforcement: enforce}))
		ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := nethttp.SessionFromContext(r.Context())
			io.WriteString(w, string(s.GetAuthenticatorAssuranceLevel()))
		})
		mux := http.NewServeMux()
		mux.Handle("/session", nethttp.RequireSession(v)(ok))
		mux.Handle("/aal2", nethttp.RequireAAL2(v)(ok))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	stepUp, enroll := serve(core.LaxStepUp), serve(core.LaxEnroll)

	if status, body := get(t, stepUp+"/session", token); status != 200 || body != "aal1" {
		t.Fatalf("RequireSession on Lax: %d %q, want 200 aal1", status, body)
	}
	for _, tc := range []struct{ base, flow string }{
		{stepUp, "/self-service/login/browser?aal=aal2&return_to="},
		{enroll, "/self-service/settings/browser?return_to="},
	} {
		status, body := get(t, tc.base+"/aal2", token)
		var e struct {
			Error struct {
				ID string `json:"id"`
			} `json:"error"`
			RedirectBrowserTo string `json:"redirect_browser_to"`
		}
		_ = json.Unmarshal([]byte(body), &e)
		want := p.PublicURL + tc.flow + url.QueryEscape(tc.base+"/aal2")
		if status != 403 || e.Error.ID != "session_aal2_required" || e.RedirectBrowserTo != want {
			t.Fatalf("RequireAAL2 on Lax: %d %s, want 403 session_aal2_required to %s", status, body, want)
		}
	}

	must(t, p.StepUpTOTPAPI(ctx, token, secret))
	if status, body := get(t, stepUp+"/aal2", token); status != 200 || body != "aal2" {
		t.Fatalf("after the TOTP step-up: %d %q, want 200 aal2", status, body)
	}
}

func get(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("X-Session-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
