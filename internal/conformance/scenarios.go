package conformance

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/fakeory"
	"github.com/orymfa/orymfa/internal/kratostest"
)

// scenario is one row of the table. kind picks the Kratos project; sdkURL, when set by setup,
// points the verifier elsewhere (a stopped or fake Ory).
type scenario struct {
	name  string
	kind  kratostest.Kind
	setup func(t *testing.T) (sdkURL string, cfg core.Config)
	run   func(t *testing.T, e *env)
}

// Run runs every scenario against the adapter, each with a fresh app and verifier. Scenarios
// run one after another: Kratos on in-memory SQLite answers overlapping writes with transient
// errors (even a 401 for a valid session), which would make the table flaky, not stricter.
func Run(t *testing.T, a Adapter) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var (
				sdkURL string
				cfg    core.Config
			)
			if sc.setup != nil {
				sdkURL, cfg = sc.setup(t)
			}
			sc.run(t, newEnv(t, a, sc.kind, sdkURL, cfg))
		})
	}
}

var browser = true

var scenarios = []scenario{
	{name: "anonymous browser goes to login and back to the same URL", kind: kratostest.CodeMFA, run: func(t *testing.T, e *env) {
		for _, path := range []string{"/session?tab=2&next=%2Fx", "/aal2", "/fresh"} {
			e.redirect(e.do(request{path: path, browser: browser}), e.loginURL("login", "", path))
		}
	}},
	{name: "anonymous API request gets 401 session_inactive", kind: kratostest.CodeMFA, run: func(t *testing.T, e *env) {
		r := e.do(request{path: "/aal2"})
		e.oryError(r, 401, "session_inactive", e.loginURL("login", "", "/aal2"))
		if r.header.Get("WWW-Authenticate") == "" {
			t.Fatal("401 without WWW-Authenticate")
		}
		if n := e.whoami.calls.Load(); n != 0 {
			t.Fatalf("asked Ory %d times without credentials", n)
		}
	}},
	{name: "aal1 token of a user with a second factor steps up with the emailed code", kind: kratostest.CodeMFA, run: func(t *testing.T, e *env) {
		email := kratostest.NewEmail()
		token, err := e.kratos.RegisterAPI(ctx(t), email, kratostest.Password)
		must(t, err)
		for _, path := range []string{"/session", "/aal2"} {
			// Ory's 403 means "step up", never "logged out": no plain login, no loop.
			r := e.do(request{path: path, token: token})
			e.oryError(r, 403, "session_aal2_required", e.loginURL("login", "aal=aal2", path))
			if !strings.Contains(r.header.Get("WWW-Authenticate"), `acr_values="aal2"`) {
				t.Fatalf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		}
		e.oryError(e.do(request{path: "/aal2", bearer: token}), 403, "session_aal2_required", e.loginURL("login", "aal=aal2", "/aal2"))

		must(t, e.kratos.StepUpCodeAPI(ctx(t), token, email))
		id := session(t, e.kratos, token).Identity.ID
		e.allowed(e.do(request{path: "/aal2", token: token}), id, "aal2")
		e.allowed(e.do(request{path: "/session", bearer: token}), id, "aal2")
	}},
	{name: "aal1 browser session steps up and gets back in", kind: kratostest.CodeMFA, run: func(t *testing.T, e *env) {
		email := kratostest.NewEmail()
		b := e.kratos.NewBrowser()
		must(t, b.Register(ctx(t), email, kratostest.Password))
		aal1 := cookieHeader(t, b)
		e.redirect(e.do(request{path: "/session", browser: browser, cookie: aal1}), e.loginURL("login", "aal=aal2", "/session"))
		e.redirect(e.do(request{path: "/aal2?amount=10", browser: browser, cookie: aal1}), e.loginURL("login", "aal=aal2", "/aal2?amount=10"))

		must(t, b.StepUpCode(ctx(t), email))
		aal2 := cookieHeader(t, b)
		r := e.do(request{path: "/aal2?amount=10", browser: browser, cookie: "theme=dark; " + aal2 + "; app_csrf=secret"})
		if r.status != 200 {
			t.Fatalf("after step-up: %d %s", r.status, r.body)
		}
		if got := e.whoami.lastCookie(); got != aal2 {
			t.Fatalf("Ory received Cookie %q, want only the Ory session cookie %q", got, aal2)
		}
	}},
	{name: "stacked guards ask Ory once per request", kind: kratostest.CodeMFA, setup: func(t *testing.T) (string, core.Config) {
		// Without a cache, only the session the first guard put in the context can spare the
		// second guard its own whoami call.
		return "", core.Config{Cache: core.CacheConfig{Disabled: true}}
	}, run: func(t *testing.T, e *env) {
		email := kratostest.NewEmail()
		token, err := e.kratos.RegisterAPI(ctx(t), email, kratostest.Password)
		must(t, err)
		e.oryError(e.do(request{path: "/group/aal2", token: token}), 403, "session_aal2_required", e.loginURL("login", "aal=aal2", "/group/aal2"))
		if n := e.whoami.calls.Load(); n != 1 {
			t.Fatalf("denied stacked request made %d whoami calls, want 1", n)
		}
		must(t, e.kratos.StepUpCodeAPI(ctx(t), token, email))
		id := session(t, e.kratos, token).Identity.ID
		e.allowed(e.do(request{path: "/group/aal2", token: token}), id, "aal2")
		if n := e.whoami.calls.Load(); n != 2 {
			t.Fatalf("allowed stacked request made %d whoami calls, want 1", n-1)
		}
	}},
	{name: "stale second factor must be refreshed, then passes", kind: kratostest.CodeMFA, run: func(t *testing.T, e *env) {
		email := kratostest.NewEmail()
		token, err := e.kratos.RegisterAPI(ctx(t), email, kratostest.Password)
		must(t, err)
		must(t, e.kratos.StepUpCodeAPI(ctx(t), token, email))
		s := session(t, e.kratos, token)
		e.allowed(e.do(request{path: "/fresh", token: token}), s.Identity.ID, "aal2")

		// Stop the clock just past the allowed age of this second factor.
		e.freezeClock(s.secondFactorAt().Add(maxAge + time.Millisecond))
		r := e.do(request{path: "/fresh", token: token})
		e.oryError(r, 403, "session_refresh_required", e.loginURL("login", "refresh=true&aal=aal2", "/fresh"))
		if !strings.Contains(r.header.Get("WWW-Authenticate"), "max_age=300") {
			t.Fatalf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
		}
		e.allowed(e.do(request{path: "/aal2", token: token}), s.Identity.ID, "aal2") // no max age there

		must(t, e.kratos.RefreshCodeAPI(ctx(t), token, email))
		if !session(t, e.kratos, token).secondFactorAt().After(s.secondFactorAt()) {
			t.Fatal("Kratos did not record a newer second factor after the refresh")
		}
		e.allowed(e.do(request{path: "/fresh", token: token}), s.Identity.ID, "aal2")
	}},
	{name: "user without a second factor is sent to set one up, then gets through", kind: kratostest.TOTP, run: func(t *testing.T, e *env) {
		email := kratostest.NewEmail()
		token, err := e.kratos.RegisterAPI(ctx(t), email, kratostest.Password)
		must(t, err)
		id := session(t, e.kratos, token).Identity.ID
		e.allowed(e.do(request{path: "/session", token: token}), id, "aal1") // also caches the aal1 session
		r := e.do(request{path: "/aal2", token: token})
		e.oryError(r, 403, "session_aal2_required", e.loginURL("settings", "", "/aal2"))
		if r.oryErr.Error.Details["setup_second_factor"] != true {
			t.Fatalf("details = %v, want setup_second_factor", r.oryErr.Error.Details)
		}

		secret, err := e.kratos.EnrollTOTPAPI(ctx(t), token)
		must(t, err)
		// The same token is aal2 now; the cached aal1 session must not deny it.
		e.allowed(e.do(request{path: "/aal2", token: token}), id, "aal2")

		// Signing in again: Strict Ory demands the TOTP code it now knows about.
		token2, err := e.kratos.LoginAPI(ctx(t), email, kratostest.Password)
		must(t, err)
		e.oryError(e.do(request{path: "/session", token: token2}), 403, "session_aal2_required", e.loginURL("login", "aal=aal2", "/session"))
		must(t, e.kratos.StepUpTOTPAPI(ctx(t), token2, secret))
		e.allowed(e.do(request{path: "/aal2", token: token2}), id, "aal2")
	}},
	{name: "browser without a second factor enrolls TOTP in settings and gets through", kind: kratostest.TOTP, run: func(t *testing.T, e *env) {
		b := e.kratos.NewBrowser()
		must(t, b.Register(ctx(t), kratostest.NewEmail(), kratostest.Password))
		aal1 := cookieHeader(t, b)
		if r := e.do(request{path: "/session", browser: browser, cookie: aal1}); r.status != 200 || r.handler.AAL != "aal1" {
			t.Fatalf("aal1 session on RequireSession: %d %s", r.status, r.body)
		}
		e.ran.Store(0)
		e.redirect(e.do(request{path: "/aal2", browser: browser, cookie: aal1}), e.loginURL("settings", "", "/aal2"))
		_, err := b.EnrollTOTP(ctx(t))
		must(t, err)
		if r := e.do(request{path: "/aal2", browser: browser, cookie: cookieHeader(t, b)}); r.status != 200 || r.handler.AAL != "aal2" {
			t.Fatalf("after enrolling TOTP: %d %s", r.status, r.body)
		}
	}},
	{name: "garbage, malformed and oversized credentials are a login, not an error", kind: kratostest.CodeMFA, run: func(t *testing.T, e *env) {
		e.redirect(e.do(request{path: "/session", browser: browser, cookie: "ory_kratos_session=garbage"}), e.loginURL("login", "", "/session"))
		calls := e.whoami.calls.Load()
		e.redirect(e.do(request{path: "/session", browser: browser, cookie: `ory_kratos_session="not valid"; ory_kratos_session=a\b`}), e.loginURL("login", "", "/session"))
		e.oryError(e.do(request{path: "/session", token: strings.Repeat("x", 8<<10)}), 401, "session_inactive", e.loginURL("login", "", "/session"))
		if n := e.whoami.calls.Load(); n != calls {
			t.Fatalf("malformed credentials were sent to Ory (%d calls)", n-calls)
		}
	}},
	{name: "forced modes and the deny handler", kind: kratostest.CodeMFA, run: func(t *testing.T, e *env) {
		e.oryError(e.do(request{path: "/api/aal2", browser: browser}), 401, "session_inactive", e.loginURL("login", "", "/api/aal2"))
		e.redirect(e.do(request{path: "/browser/session"}), e.loginURL("login", "", "/browser/session"))
		r := e.do(request{path: "/custom/aal2"})
		if r.status != http.StatusTeapot || !strings.Contains(string(r.body), `"custom":"login"`) {
			t.Fatalf("deny handler not used: %d %s", r.status, r.body)
		}
		e.handlerDidNotRun()
		if r := e.do(request{path: "/public"}); r.status != 200 {
			t.Fatalf("/public: %d", r.status)
		}
	}},
	{name: "fake Ory: credentials, deny handler only on denial, no-store", kind: kratostest.CodeMFA, setup: func(t *testing.T) (string, core.Config) {
		fake := fakeory.New()
		t.Cleanup(fake.Close)
		return fake.URL, core.Config{}
	}, run: func(t *testing.T, e *env) {
		ory := fakeory.CookieName + "=" + fakeory.CookieAAL2
		for _, r := range []request{
			{path: "/aal2", token: fakeory.TokenAAL2},
			{path: "/aal2", bearer: fakeory.TokenAAL2},
			{path: "/aal2", browser: browser, cookie: "app=1; " + ory + "; theme=dark"},
			{path: "/aal2", browser: browser, cookies: []string{"app=1", ory}}, // one header per cookie, as HTTP/2 sends them
			{path: "/custom/aal2", token: fakeory.TokenAAL2},                   // the deny handler is for denials only
		} {
			e.allowed(e.do(r), fakeory.IdentityID, "aal2")
		}
		if got := e.whoami.lastCookie(); got != ory {
			t.Fatalf("Ory received Cookie %q, want only %q", got, ory)
		}
		r := e.do(request{path: "/aal2", token: fakeory.TokenAAL1})
		e.oryError(r, 403, "session_aal2_required", e.loginURL("settings", "", "/aal2"))
		if r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("denial without Cache-Control: no-store: %v", r.header)
		}
		if r := e.do(request{path: "/custom/aal2", token: fakeory.TokenAAL1}); r.status != http.StatusTeapot || !strings.Contains(string(r.body), `"custom":"enroll"`) {
			t.Fatalf("deny handler: %d %s", r.status, r.body)
		}
		e.handlerDidNotRun()
	}},
	{name: "Ory down: 503 and the handler never runs", kind: kratostest.CodeMFA, setup: func(t *testing.T) (string, core.Config) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		addr := ln.Addr().String()
		ln.Close() // nothing listens there any more
		return "http://" + addr, core.Config{}
	}, run: func(t *testing.T, e *env) {
		e.unavailable(e.do(request{path: "/session", token: fakeory.TokenAAL2}), 503)
		e.unavailable(e.do(request{path: "/aal2", browser: browser, cookie: "ory_kratos_session=x"}), 503)
	}},
	{name: "Ory slow: 504 and the handler never runs", kind: kratostest.CodeMFA, setup: func(t *testing.T) (string, core.Config) {
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // answer only when the caller gives up
		}))
		t.Cleanup(slow.Close)
		return slow.URL, core.Config{Timeout: 200 * time.Millisecond}
	}, run: func(t *testing.T, e *env) {
		e.unavailable(e.do(request{path: "/aal2", token: fakeory.TokenAAL2}), 504)
	}},
	{name: "Ory failing or lying: 502 and the handler never runs", kind: kratostest.CodeMFA, setup: func(t *testing.T) (string, core.Config) {
		fake := fakeory.New()
		t.Cleanup(fake.Close)
		answers := []http.HandlerFunc{
			func(w http.ResponseWriter, r *http.Request) { fakeory.WriteError(w, 500, "") },
			func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"id":"x","active":tru`)) },
			func(w http.ResponseWriter, r *http.Request) {
				s := fakeory.Session("aal2", time.Now())
				s["active"] = false
				fakeory.WriteSession(w, s)
			},
			func(w http.ResponseWriter, r *http.Request) { fakeory.WriteError(w, 403, "some_other_error") },
		}
		var i atomic.Int64
		fake.Respond(func(w http.ResponseWriter, r *http.Request) { answers[(i.Add(1)-1)%int64(len(answers))](w, r) })
		return fake.URL, core.Config{}
	}, run: func(t *testing.T, e *env) {
		for range 4 {
			e.unavailable(e.do(request{path: "/aal2", token: fakeory.TokenAAL2}), 502)
		}
	}},
}
