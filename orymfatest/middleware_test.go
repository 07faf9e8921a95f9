package orymfatest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	// The alias keeps this compiling while the package is renamed from nethttp to orymfa.
	orymfa "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
)

// The kit drives the real net/http middleware through every row of the behaviour table.

func newProbe() *probe { return &probe{lookup: orymfa.SessionFromContext} }

// oryErrorID reads error.id of the middleware's JSON denial.
func oryErrorID(t *testing.T, b []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			ID string `json:"id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("denial %s: %v", b, err)
	}
	return e.Error.ID
}

// wantRedirect asserts a 303 to the kit's path with the given query parameters (besides
// return_to, which must point back at the browser request).
func wantRedirect(t *testing.T, srv *orymfatest.Server, got int, loc, path string, params ...string) {
	t.Helper()
	if got != http.StatusSeeOther {
		t.Fatalf("status %d, want 303", got)
	}
	u, err := url.Parse(loc)
	if err != nil || u.Scheme+"://"+u.Host != srv.URL || u.Path != path {
		t.Fatalf("Location %q, want %s%s", loc, srv.URL, path)
	}
	q := u.Query()
	if q.Get("return_to") != "http://app.test/account?tab=keys" {
		t.Errorf("return_to %q", q.Get("return_to"))
	}
	for i := 0; i < len(params); i += 2 {
		if q.Get(params[i]) != params[i+1] {
			t.Errorf("Location %q: %s=%q, want %q", loc, params[i], q.Get(params[i]), params[i+1])
		}
	}
}

func TestMiddlewareStrict(t *testing.T) {
	srv := orymfatest.NewServer(t)
	p := newProbe()
	app := orymfa.RequireAAL2(orymfa.WithVerifier(verifier(t, srv)))(p)

	withTOTP := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	without := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	alice := srv.NewIdentity(orymfatest.WithTraits(map[string]any{"email": "alice@example.com"}))
	aal2 := srv.SignIn(alice, orymfatest.AAL2)

	t.Run("no session", func(t *testing.T) {
		rec := serve(app, apiRequest(""))
		if rec.Code != 401 || oryErrorID(t, rec.Body.Bytes()) != "session_inactive" {
			t.Fatalf("API: %d %s", rec.Code, rec.Body)
		}
		rec = serve(app, browserRequest(nil))
		wantRedirect(t, srv, rec.Code, rec.Header().Get("Location"), "/self-service/login/browser")
	})
	t.Run("aal1 with a second factor: step-up", func(t *testing.T) {
		rec := serve(app, apiRequest(withTOTP))
		if rec.Code != 403 || oryErrorID(t, rec.Body.Bytes()) != "session_aal2_required" {
			t.Fatalf("API: %d %s", rec.Code, rec.Body)
		}
		rec = serve(app, browserRequest(srv.Cookie(withTOTP)))
		wantRedirect(t, srv, rec.Code, rec.Header().Get("Location"), "/self-service/login/browser", "aal", "aal2")
	})
	t.Run("aal1 without a second factor: set one up", func(t *testing.T) {
		rec := serve(app, browserRequest(srv.Cookie(without)))
		wantRedirect(t, srv, rec.Code, rec.Header().Get("Location"), "/self-service/settings/browser")
		if rec := serve(app, apiRequest(without)); rec.Code != 403 {
			t.Fatalf("API: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("aal2", func(t *testing.T) {
		for _, r := range []*http.Request{apiRequest(aal2), browserRequest(srv.Cookie(aal2))} {
			if rec := serve(app, r); rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if !p.ok || p.session.Identity.Id != alice.ID || p.session.Identity.Traits.(map[string]any)["email"] != "alice@example.com" {
				t.Fatalf("the handler got %+v", p.session)
			}
		}
	})
	if p.ran() != 2 {
		t.Fatalf("the handler ran %d times, want 2", p.ran())
	}
}

// A session token keeps its value through a step-up; the middleware (and its cache) must
// let the same token through right after.
func TestMiddlewareStepUpSameToken(t *testing.T) {
	srv := orymfatest.NewServer(t)
	app := orymfa.RequireAAL2(orymfa.WithVerifier(verifier(t, srv)))(newProbe())

	for _, tc := range []struct {
		name string
		opts []orymfatest.IdentityOption
	}{
		{"step-up login", []orymfatest.IdentityOption{orymfatest.WithSecondFactor()}},
		{"enrollment", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := srv.SignIn(srv.NewIdentity(tc.opts...), orymfatest.AAL1)
			if rec := serve(app, apiRequest(token)); rec.Code != 403 {
				t.Fatalf("before: %d %s", rec.Code, rec.Body)
			}
			srv.StepUp(token)
			if rec := serve(app, apiRequest(token)); rec.Code != 200 {
				t.Fatalf("after StepUp: %d %s", rec.Code, rec.Body)
			}
		})
	}
}

func TestMiddlewareRevokeAndCache(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)

	// With the default cache, a second request is served without asking Ory; that is also
	// why a revoked session passes until the cache entry ends.
	cached := orymfa.RequireSession(orymfa.WithVerifier(verifier(t, srv)))(newProbe())
	serve(cached, apiRequest(token))
	serve(cached, apiRequest(token))
	if srv.Calls() != 1 {
		t.Fatalf("whoami calls with the cache: %d, want 1", srv.Calls())
	}

	uncached := orymfa.RequireSession(orymfa.WithVerifier(verifier(t, srv, noCache)))(newProbe())
	if rec := serve(uncached, apiRequest(token)); rec.Code != 200 {
		t.Fatalf("before Revoke: %d", rec.Code)
	}
	srv.Revoke(token)
	if rec := serve(uncached, apiRequest(token)); rec.Code != 401 {
		t.Fatalf("after Revoke: %d %s", rec.Code, rec.Body)
	}
	expiring := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	srv.Expire(expiring)
	if rec := serve(uncached, apiRequest(expiring)); rec.Code != 401 {
		t.Fatalf("after Expire: %d %s", rec.Code, rec.Body)
	}
}

func TestMiddlewareMaxAge(t *testing.T) {
	srv := orymfatest.NewServer(t)
	app := orymfa.RequireAAL2(orymfa.WithVerifier(verifier(t, srv, noCache)), orymfa.WithMaxAge(5*time.Minute))(newProbe())
	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)

	if rec := serve(app, browserRequest(srv.Cookie(token))); rec.Code != 200 {
		t.Fatalf("fresh: %d", rec.Code)
	}
	srv.Backdate(token, 10*time.Minute)
	rec := serve(app, browserRequest(srv.Cookie(token)))
	wantRedirect(t, srv, rec.Code, rec.Header().Get("Location"), "/self-service/login/browser", "refresh", "true", "aal", "aal2")
	if rec := serve(app, apiRequest(token)); rec.Code != 403 || oryErrorID(t, rec.Body.Bytes()) != "session_refresh_required" {
		t.Fatalf("API: %d %s", rec.Code, rec.Body)
	}

	// The password proven now does not make an old second factor fresh.
	now := time.Now()
	srv.SetFactorTimes(token, now, now.Add(-10*time.Minute))
	if rec := serve(app, apiRequest(token)); rec.Code != 403 {
		t.Fatalf("fresh password, old TOTP: %d, want 403", rec.Code)
	}
	srv.SetFactorTimes(token, now.Add(-10*time.Minute), now)
	if rec := serve(app, apiRequest(token)); rec.Code != 200 {
		t.Fatalf("old password, fresh TOTP: %d %s", rec.Code, rec.Body)
	}
	// A refresh (StepUp on an aal2 session) makes it fresh again.
	srv.Backdate(token, time.Hour)
	srv.StepUp(token)
	if rec := serve(app, apiRequest(token)); rec.Code != 200 {
		t.Fatalf("after refresh: %d %s", rec.Code, rec.Body)
	}
}

func TestMiddlewareLax(t *testing.T) {
	srv := orymfatest.NewServer(t)
	srv.SetLax(true)
	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)

	if rec := serve(orymfa.RequireSession(orymfa.WithVerifier(verifier(t, srv)))(newProbe()), apiRequest(token)); rec.Code != 200 {
		t.Fatalf("RequireSession on Lax: %d", rec.Code)
	}
	lax := verifier(t, srv, func(c *core.Config) { c.Enforcement = core.LaxStepUp })
	rec := serve(orymfa.RequireAAL2(orymfa.WithVerifier(lax))(newProbe()), browserRequest(srv.Cookie(token)))
	wantRedirect(t, srv, rec.Code, rec.Header().Get("Location"), "/self-service/login/browser", "aal", "aal2")
}

// The middleware must send Ory its session cookie and nothing else of the app's.
func TestMiddlewareForwardsOnlyTheOryCookie(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	app := orymfa.RequireSession(orymfa.WithVerifier(verifier(t, srv)))(newProbe())

	r := browserRequest(nil)
	r.Header.Set("Cookie", "theme=dark; ory_kratos_session="+token+"; app_session=secret")
	if rec := serve(app, r); rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if got := srv.LastCookie(); got != "ory_kratos_session="+token {
		t.Fatalf("whoami got Cookie %q", got)
	}

	// Ory Network names its cookie ory_session_<slug>; the middleware knows the prefix.
	srv.SetCookieName("ory_session_myslug")
	r = browserRequest(srv.Cookie(token))
	r.Header.Add("Cookie", "other=1")
	if rec := serve(app, r); rec.Code != 200 {
		t.Fatalf("Ory Network cookie: %d %s", rec.Code, rec.Body)
	}
	if got := srv.LastCookie(); got != "ory_session_myslug="+srv.Cookie(token).Value {
		t.Fatalf("whoami got Cookie %q", got)
	}
}

// Bearer and X-Session-Token reach the kit as the session token.
func TestMiddlewareTokens(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	app := orymfa.RequireSession(orymfa.WithVerifier(verifier(t, srv, noCache)))(newProbe())
	r := apiRequest("")
	r.Header.Set("Authorization", "Bearer "+token)
	if rec := serve(app, r); rec.Code != 200 {
		t.Fatalf("Bearer: %d %s", rec.Code, rec.Body)
	}
	if h := srv.CallHeaders()[0]; h.Get("X-Session-Token") != token || strings.Contains(h.Get("Cookie"), token) {
		t.Fatalf("whoami got %v", h)
	}
}
