package core_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// A token request is an API request even when it accepts text/html: JSON, no redirect.
func TestSessionTokenIsAlwaysAPI(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	g := core.MustGuard(core.RequireAAL2, core.WithVerifier(newVerifier(t, srv.URL, core.Config{})))
	for _, r := range []*core.Request{
		{URI: "/x", Host: "app.example", SessionToken: token, Accept: "text/html"},
		{URI: "/x", Host: "app.example", Authorization: "Bearer " + token, Accept: "text/html,*/*"},
		// The cookie is the credential (Kratos's order), the bearer token says who is asking.
		{URI: "/x", Host: "app.example", Authorization: "Bearer " + token, Cookie: "ory_kratos_session=" + token, Accept: "text/html,*/*"},
	} {
		d := g.Check(ctx(t), r)
		if d.Status != 403 || d.Mode != core.ModeAPI || d.Header.Get("Location") != "" {
			t.Fatalf("token with Accept text/html: %d %v Location %q, want 403 JSON", d.Status, d.Mode, d.Header.Get("Location"))
		}
		if e := decodeError(t, d); e.Error.ID != "session_aal2_required" || !strings.Contains(e.RedirectBrowserTo, "aal=aal2&return_to=") {
			t.Fatalf("body: %s", d.Body)
		}
	}
}

// The JSON is written as Ory writes it: "&" in redirect_browser_to, not "\u0026".
func TestRedirectBrowserToIsPlain(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	d := core.MustGuard(core.RequireAAL2, core.WithVerifier(newVerifier(t, srv.URL, core.Config{}))).Check(ctx(t), apiRequest(token))
	if strings.Contains(string(d.Body), `\u0026`) || !strings.Contains(string(d.Body), "aal=aal2&return_to=") {
		t.Fatalf("body: %s", d.Body)
	}
}

// A browser sees a page, not raw JSON, when Ory is down; a 503 says when to retry.
func TestUnavailableBrowserPage(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	srv.SetFault(orymfatest.Down)
	d := core.MustGuard(core.RequireSession, core.WithVerifier(newVerifier(t, srv.URL, core.Config{}))).Check(ctx(t), browserRequest("ory_kratos_session="+srv.Cookie(token).Value))
	if d.Status != 503 || d.Header.Get("Retry-After") == "" || !strings.HasPrefix(d.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(d.Body), "<html") {
		t.Fatalf("browser, Ory down: %d %v %.60s", d.Status, d.Header, d.Body)
	}
}

// Errors talking to Ory never reach the client: the body says only that the session could not
// be verified.
func TestErrorsStayInside(t *testing.T) {
	srv := orymfatest.NewServer(t)
	srv.Respond(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		io.WriteString(w, "database password is hunter2")
	})
	d := core.MustGuard(core.RequireSession, core.WithVerifier(newVerifier(t, srv.URL, core.Config{}))).Check(ctx(t), apiRequest("ory_st_x"))
	if d.Status != 502 || strings.Contains(string(d.Body), "hunter2") || strings.Contains(string(d.Body), "500") && !strings.Contains(string(d.Body), "502") {
		t.Fatalf("%d %s", d.Status, d.Body)
	}
	if !errors.Is(d.Err, core.ErrUnavailable) {
		t.Fatalf("err %v", d.Err)
	}
}
