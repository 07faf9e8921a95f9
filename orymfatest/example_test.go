package orymfatest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
)

// exampleT stands in for the *testing.T a test function receives, which examples do not get:
// in your tests, pass t itself.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func newExampleT() *exampleT                          { return &exampleT{} }
func (t *exampleT) Helper()                           {}
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (t *exampleT) Setenv(key, value string) {
	old, had := os.LookupEnv(key)
	os.Setenv(key, value)
	t.Cleanup(func() {
		if had {
			os.Setenv(key, old)
		} else {
			os.Unsetenv(key)
		}
	})
}

// done runs the cleanups, as the testing package does when a test ends.
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// account is the handler under test: it greets the user the middleware verified.
func account(w http.ResponseWriter, r *http.Request) {
	s, _ := orymfa.SessionFromContext(r.Context())
	traits, _ := s.Identity.Traits.(map[string]any)
	fmt.Fprintf(w, "hello %v (%s)", traits["email"], s.GetAuthenticatorAssuranceLevel())
}

// quiet is a verifier for srv that does not log (Down and friends would, on stderr).
func quiet(srv *orymfatest.Server) *core.Verifier {
	return core.MustNew(core.Config{SDKURL: srv.URL, Logger: slog.New(slog.DiscardHandler)})
}

// call sends one GET through h, with a session token when token is not "", and prints the
// status with the body (a handler's text, or the error id of a JSON denial).
func call(h http.Handler, token string) {
	r := httptest.NewRequest(http.MethodGet, "http://app.example/account", nil)
	if token != "" {
		r.Header.Set("X-Session-Token", token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var denial struct {
		Error struct {
			ID string `json:"id"`
		} `json:"error"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &denial) == nil {
		fmt.Println(rec.Code, denial.Error.ID)
		return
	}
	fmt.Println(rec.Code, rec.Body.String())
}

// A test of a handler that needs a second factor: a fake Ory, a user with TOTP, and the real
// middleware in front of the handler.
func Example() {
	t := newExampleT() // in a test: func TestAccount(t *testing.T)
	defer t.done()

	srv := orymfatest.NewServer(t)
	v, err := core.New(core.Config{SDKURL: srv.URL})
	if err != nil {
		t.Fatalf("%v", err)
	}
	app := orymfa.RequireAAL2(orymfa.WithVerifier(v))(http.HandlerFunc(account))

	ada := srv.NewIdentity(orymfatest.WithSecondFactor(), orymfatest.WithTraits(map[string]any{"email": "ada@example.com"}))
	token := srv.SignIn(ada, orymfatest.AAL1)
	call(app, token) // Ory: 403 session_aal2_required

	srv.StepUp(token) // the user proves TOTP; the token stays the same
	call(app, token)
	// Output:
	// 403 session_aal2_required
	// 200 hello ada@example.com (aal2)
}

// Point the middleware at the server's URL, through core.Config or ORY_SDK_URL.
func ExampleNewServer() {
	t := newExampleT()
	defer t.done()

	srv := orymfatest.NewServer(t)
	t.Setenv("ORY_SDK_URL", srv.URL) // for the zero-argument constructors; t.Setenv in a test
	app := orymfa.RequireSession()(http.HandlerFunc(account))

	call(app, "")
	call(app, srv.SignIn(srv.NewIdentity(orymfatest.WithTraits(map[string]any{"email": "bob@example.com"})), orymfatest.AAL1))
	// Output:
	// 401 session_inactive
	// 200 hello bob@example.com (aal1)
}

func ExampleServer_NewIdentity() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)

	plain := srv.NewIdentity() // a unique email, no second factor
	withTOTP := srv.NewIdentity(
		orymfatest.WithSecondFactor(),
		orymfatest.WithTraits(map[string]any{"email": "ada@example.com", "name": "Ada"}),
		orymfatest.WithMetadataPublic(map[string]any{"plan": "pro"}),
	)
	fmt.Println(plain.Traits["email"], plain.HasSecondFactor())
	fmt.Println(withTOTP.Traits["email"], withTOTP.HasSecondFactor())
	fmt.Println(srv.Session(srv.SignIn(withTOTP, orymfatest.AAL2)).Identity.MetadataPublic["plan"])
	// Output:
	// user-1@example.com false
	// ada@example.com true
	// pro
}

// The token works as X-Session-Token, Authorization: Bearer and the session cookie.
func ExampleServer_SignIn() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)
	app := orymfa.RequireSession(orymfa.WithVerifier(quiet(srv)))(http.HandlerFunc(account))

	token := srv.SignIn(srv.NewIdentity(orymfatest.WithTraits(map[string]any{"email": "ada@example.com"})), orymfatest.AAL1)

	api := httptest.NewRequest(http.MethodGet, "/account", nil)
	api.Header.Set("Authorization", "Bearer "+token)
	browser := httptest.NewRequest(http.MethodGet, "/account", nil)
	browser.AddCookie(srv.Cookie(token)) // ory_kratos_session=<token>
	for _, r := range []*http.Request{api, browser} {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, r)
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 200 hello ada@example.com (aal1)
	// 200 hello ada@example.com (aal1)
}

// StepUp is a step-up login for a user with a second factor, and TOTP enrollment for a user
// without one: either way the same token is aal2 right after.
func ExampleServer_StepUp() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)
	app := orymfa.RequireAAL2(orymfa.WithVerifier(quiet(srv)))(http.HandlerFunc(account))

	newcomer := srv.NewIdentity(orymfatest.WithTraits(map[string]any{"email": "new@example.com"}))
	token := srv.SignIn(newcomer, orymfatest.AAL1)
	call(app, token) // Ory says 200 aal1: the middleware sends the user to set up a factor
	srv.StepUp(token)
	call(app, token)
	fmt.Println(newcomer.HasSecondFactor())
	// Output:
	// 403 session_aal2_required
	// 200 hello new@example.com (aal2)
	// true
}

// The middleware caches sessions (10 s by default), so a revoked session passes until its
// entry ends; turn the cache off to see a revocation at once.
func ExampleServer_Revoke() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)
	v := core.MustNew(core.Config{SDKURL: srv.URL, Cache: core.CacheConfig{Disabled: true}})
	app := orymfa.RequireSession(orymfa.WithVerifier(v))(http.HandlerFunc(account))

	token := srv.SignIn(srv.NewIdentity(orymfatest.WithTraits(map[string]any{"email": "ada@example.com"})), orymfatest.AAL1)
	call(app, token)
	srv.Revoke(token)
	call(app, token)
	// Output:
	// 200 hello ada@example.com (aal1)
	// 401 session_inactive
}

func ExampleServer_Expire() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)
	app := orymfa.RequireSession(orymfa.WithVerifier(quiet(srv)))(http.HandlerFunc(account))

	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	srv.Expire(token)
	call(app, token)
	// Output:
	// 401 session_inactive
}

// A route that wants the second factor proven in the last five minutes.
func ExampleServer_Backdate() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)
	v := core.MustNew(core.Config{SDKURL: srv.URL, Cache: core.CacheConfig{Disabled: true}})
	app := orymfa.RequireAAL2(orymfa.WithVerifier(v), orymfa.WithMaxAge(5*time.Minute))(http.HandlerFunc(account))

	token := srv.SignIn(srv.NewIdentity(orymfatest.WithTraits(map[string]any{"email": "ada@example.com"})), orymfatest.AAL2)
	call(app, token)
	srv.Backdate(token, 10*time.Minute)
	call(app, token)
	srv.StepUp(token) // a refresh: TOTP proven again now
	call(app, token)
	// Output:
	// 200 hello ada@example.com (aal2)
	// 403 session_refresh_required
	// 200 hello ada@example.com (aal2)
}

// The password was proven just now, TOTP ten minutes ago: the second factor is not fresh.
func ExampleServer_SetFactorTimes() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)
	app := orymfa.RequireAAL2(orymfa.WithVerifier(quiet(srv)), orymfa.WithMaxAge(5*time.Minute))(http.HandlerFunc(account))

	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	now := time.Now()
	srv.SetFactorTimes(token, now, now.Add(-10*time.Minute))
	call(app, token)
	// Output:
	// 403 session_refresh_required
}

// On a Lax project whoami accepts aal1 sessions; RequireAAL2 still demands aal2.
func ExampleServer_SetLax() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)
	srv.SetLax(true)
	v := core.MustNew(core.Config{SDKURL: srv.URL, Enforcement: core.LaxStepUp})

	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor(), orymfatest.WithTraits(map[string]any{"email": "ada@example.com"})), orymfatest.AAL1)
	call(orymfa.RequireSession(orymfa.WithVerifier(v))(http.HandlerFunc(account)), token)
	call(orymfa.RequireAAL2(orymfa.WithVerifier(v))(http.HandlerFunc(account)), token)
	// Output:
	// 200 hello ada@example.com (aal1)
	// 403 session_aal2_required
}

// Whatever goes wrong with Ory, the handler never runs.
func ExampleServer_SetFault() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)
	v := core.MustNew(core.Config{
		SDKURL:  srv.URL,
		Timeout: 100 * time.Millisecond,
		Cache:   core.CacheConfig{Disabled: true},
		Logger:  slog.New(slog.DiscardHandler),
	})
	app := orymfa.RequireSession(orymfa.WithVerifier(v))(http.HandlerFunc(account))
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)

	for _, f := range []orymfatest.Fault{orymfatest.Down, orymfatest.Slow(time.Minute), orymfatest.Status(500), orymfatest.Malformed} {
		srv.SetFault(f)
		r := httptest.NewRequest(http.MethodGet, "/account", nil)
		r.Header.Set("X-Session-Token", token)
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, r)
		fmt.Println(f, rec.Code)
	}
	srv.ClearFault()
	// Output:
	// Down 503
	// Slow(1m0s) 504
	// Status(500) 502
	// Malformed 502
}

// Newer Kratos versions also send the error id as the Ory-Error-Id header; Respond can play
// them.
func ExampleServer_Respond() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)
	app := orymfa.RequireSession(orymfa.WithVerifier(quiet(srv)))(http.HandlerFunc(account))

	srv.Respond(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Ory-Error-Id", "session_aal2_required")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error":{"id":"session_aal2_required","code":403}}`)
	})
	call(app, "ory_st_any")
	srv.Respond(nil) // Kratos's answers again
	// Output:
	// 403 session_aal2_required
}

// Calls shows that the middleware's cache spares Ory: two requests, one whoami.
func ExampleServer_Calls() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)
	app := orymfa.RequireSession(orymfa.WithVerifier(quiet(srv)))(http.HandlerFunc(account))

	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	for range 2 {
		r := httptest.NewRequest(http.MethodGet, "/account", nil)
		r.Header.Set("X-Session-Token", token)
		app.ServeHTTP(httptest.NewRecorder(), r)
	}
	fmt.Println(srv.Calls())
	// Output:
	// 1
}

// The app's other cookies never reach Ory.
func ExampleServer_LastCookie() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)
	app := orymfa.RequireSession(orymfa.WithVerifier(quiet(srv)))(http.HandlerFunc(account))

	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	r := httptest.NewRequest(http.MethodGet, "/account", nil)
	r.Header.Set("Cookie", "theme=dark; ory_kratos_session="+token+"; cart=42")
	app.ServeHTTP(httptest.NewRecorder(), r)
	fmt.Println(srv.LastCookie() == "ory_kratos_session="+token)
	// Output:
	// true
}

// A browser that follows the middleware's redirect lands on the server's login page, which
// records what was asked.
func ExampleServer_Flows() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)
	app := httptest.NewServer(orymfa.RequireAAL2(orymfa.WithVerifier(quiet(srv)))(http.HandlerFunc(account)))
	defer app.Close()

	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	r, _ := http.NewRequest(http.MethodGet, app.URL+"/account", nil)
	r.Header.Set("Accept", "text/html")
	r.AddCookie(srv.Cookie(token))
	res, err := http.DefaultClient.Do(r) // follows the 303 to the fake Ory
	if err != nil {
		t.Fatalf("%v", err)
	}
	res.Body.Close()

	f := srv.Flows()[0]
	fmt.Println(res.StatusCode, f.Path, f.AAL, f.ReturnTo == app.URL+"/account")
	// Output:
	// 200 /self-service/login/browser aal2 true
}

func ExampleServer_Session() {
	t := newExampleT()
	defer t.done()
	srv := orymfatest.NewServer(t)

	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	srv.StepUp(token)
	s := srv.Session(token)
	for _, m := range s.AuthenticationMethods {
		fmt.Println(m.GetMethod(), m.GetAal())
	}
	// Output:
	// password aal1
	// totp aal2
}

// A handler unit test needs no server at all.
func ExampleNewSession() {
	s := orymfatest.NewSession(orymfatest.AAL2,
		orymfatest.WithIdentity(&orymfatest.Identity{Traits: map[string]any{"email": "ada@example.com"}}),
		orymfatest.WithFactorTimes(time.Now().Add(-time.Hour), time.Now().Add(-time.Minute)),
	)
	fmt.Println(s.GetAuthenticatorAssuranceLevel(), s.Identity.Traits.(map[string]any)["email"], len(s.AuthenticationMethods))
	// Output:
	// aal2 ada@example.com 2
}

func ExampleWithSession() {
	s := orymfatest.NewSession(orymfatest.AAL2, orymfatest.WithIdentity(&orymfatest.Identity{Traits: map[string]any{"email": "ada@example.com"}}))
	r := orymfatest.WithSession(httptest.NewRequest(http.MethodGet, "/account", nil), s)
	rec := httptest.NewRecorder()
	account(rec, r) // the handler alone, as the middleware would call it
	fmt.Println(rec.Body.String())
	// Output:
	// hello ada@example.com (aal2)
}

// For code that takes a context rather than a request.
func ExampleContextWithSession() {
	ctx := orymfatest.ContextWithSession(context.Background(), orymfatest.NewSession(orymfatest.AAL1))
	s, ok := orymfa.SessionFromContext(ctx)
	fmt.Println(ok, s.GetAuthenticatorAssuranceLevel())
	// Output:
	// true aal1
}
