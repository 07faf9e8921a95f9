package core_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// stack runs an outer and an inner guard as nested middleware would: the inner one sees the
// context the outer one's decision made.
func stack(t *testing.T, outer, inner *core.Guard, r *core.Request) (core.Decision, core.Decision) {
	t.Helper()
	d1 := outer.Check(ctx(t), r)
	if !d1.Allowed() {
		return d1, core.Decision{}
	}
	return d1, inner.Check(d1.Context(ctx(t)), r)
}

// Stacked guards: a RequireSession group whose session came from the cache must not make a
// RequireAAL2 route deny without asking Ory: the user may have just enrolled TOTP on the same
// session token (issue 8.1).
func TestStackedGuardRechecksACachedContextSessionBeforeDenying(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1) // no second factor yet
	v := newVerifier(t, srv.URL, core.Config{})
	group, route := core.MustGuard(core.RequireSession, core.WithVerifier(v)), core.MustGuard(core.RequireAAL2, core.WithVerifier(v))

	// The first request fills the cache with the aal1 session; the route sends the user to
	// set up a second factor.
	if _, d := stack(t, group, route, apiRequest(token)); d.Outcome != core.Enroll {
		t.Fatalf("aal1 on the stacked route: %v, want enroll", d.Outcome)
	}
	srv.StepUp(token) // TOTP enrolled: the same session is aal2 now
	calls := srv.Calls()
	d1, d2 := stack(t, group, route, apiRequest(token))
	if d1.FromContext || !d1.Allowed() {
		t.Fatalf("outer guard: %+v", d1)
	}
	if !d2.Allowed() || string(d2.Session.GetAuthenticatorAssuranceLevel()) != "aal2" {
		t.Fatalf("after enrolling on the same token the stacked route says %v (%v): a denial rested on the cached session", d2.Outcome, d2.Err)
	}
	if n := srv.Calls() - calls; n != 1 {
		t.Fatalf("%d whoami calls, want 1 (the re-check)", n)
	}
	// Now the fresh aal2 session is cached: both guards pass without Ory.
	calls = srv.Calls()
	if _, d := stack(t, group, route, apiRequest(token)); !d.Allowed() || srv.Calls() != calls {
		t.Fatalf("cached aal2: %v with %d calls", d.Outcome, srv.Calls()-calls)
	}
}

// The same for freshness: a refresh on the same token must pass at once (issue 8.1).
func TestStackedGuardRechecksBeforeARefreshDenial(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
	srv.Backdate(token, 10*time.Minute)
	v := newVerifier(t, srv.URL, core.Config{})
	group, route := core.MustGuard(core.RequireSession, core.WithVerifier(v)), core.MustGuard(core.RequireAAL2, core.WithVerifier(v), core.WithMaxAge(5*time.Minute))
	if _, d := stack(t, group, route, apiRequest(token)); d.Outcome != core.Refresh {
		t.Fatalf("stale second factor: %v, want refresh", d.Outcome)
	}
	srv.StepUp(token) // a refresh: the second factor is proven now
	if _, d := stack(t, group, route, apiRequest(token)); !d.Allowed() {
		t.Fatalf("after the refresh on the same token: %v: a denial rested on the cached session", d.Outcome)
	}
}

// A fresh context session that falls short is denied at once, with the right outcome, and
// without asking Ory again (the mutation audit's "allowed without evaluating" survivor).
func TestStackedGuardEvaluatesAFreshContextSession(t *testing.T) {
	srv := orymfatest.NewServer(t)
	noFactor := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	stale := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
	srv.Backdate(stale, time.Hour)
	v := newVerifier(t, srv.URL, core.Config{Cache: core.CacheConfig{Disabled: true}})
	group := core.MustGuard(core.RequireSession, core.WithVerifier(v))
	for _, tc := range []struct {
		token string
		route *core.Guard
		want  core.Outcome
	}{
		{noFactor, core.MustGuard(core.RequireAAL2, core.WithVerifier(v)), core.Enroll},
		{stale, core.MustGuard(core.RequireAAL2, core.WithVerifier(v), core.WithMaxAge(5*time.Minute)), core.Refresh},
		{stale, core.MustGuard(core.RequireSession, core.WithVerifier(v), core.WithMaxAge(5*time.Minute)), core.Refresh},
	} {
		calls := srv.Calls()
		d1, d2 := stack(t, group, tc.route, apiRequest(tc.token))
		if !d1.Allowed() || d2.Outcome != tc.want || !d2.FromContext && d2.Allowed() {
			t.Fatalf("stacked: outer %v, inner %v, want inner %v", d1.Outcome, d2.Outcome, tc.want)
		}
		if n := srv.Calls() - calls; n != 1 {
			t.Fatalf("%d whoami calls, want 1: the outer guard's answer is fresh", n)
		}
		e := decodeError(t, d2)
		if tc.want == core.Enroll && e.Error.Details["setup_second_factor"] != true {
			t.Fatalf("enroll without setup_second_factor: %s", d2.Body)
		}
	}
}

// A session in the context is reused only by the verifier that verified it: an inner guard
// for another Ory project asks its own project (issue 8.2), and a session put there by
// ContextWithSession (a test, a custom middleware) is never trusted.
func TestContextSessionIsTiedToItsVerifier(t *testing.T) {
	customers, staff := orymfatest.NewServer(t), orymfatest.NewServer(t)
	token := customers.SignIn(customers.NewIdentity(), orymfatest.AAL2) // valid only for customers
	a := newVerifier(t, customers.URL, core.Config{})
	b := newVerifier(t, staff.URL, core.Config{})
	outer := core.MustGuard(core.RequireSession, core.WithVerifier(a))
	inner := core.MustGuard(core.RequireAAL2, core.WithVerifier(b))
	d1, d2 := stack(t, outer, inner, apiRequest(token))
	if !d1.Allowed() {
		t.Fatalf("outer: %v", d1.Outcome)
	}
	if d2.Allowed() || d2.Outcome != core.Login {
		t.Fatalf("the staff guard accepted a customer session: %v", d2.Outcome)
	}
	if n := staff.Calls(); n != 1 {
		t.Fatalf("the staff project was asked %d times, want 1", n)
	}

	planted := core.ContextWithSession(ctx(t), orymfatest.NewSession(orymfatest.AAL2))
	if d := inner.Check(planted, apiRequest("ory_st_unknown")); d.Allowed() || d.Outcome != core.Login {
		t.Fatalf("a planted session passed the guard: %v", d.Outcome)
	}
	if s, ok := core.SessionFromContext(planted); !ok || s == nil {
		t.Fatal("handlers cannot read a session put there with ContextWithSession")
	}
}

// A token request is an API request even when it accepts text/html: JSON, no redirect.
func TestSessionTokenIsAlwaysAPI(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	g := core.MustGuard(core.RequireAAL2, core.WithVerifier(newVerifier(t, srv.URL, core.Config{})))
	for _, r := range []*core.Request{
		{URI: "/x", Host: "app.example", SessionToken: token, Accept: "text/html"},
		{URI: "/x", Host: "app.example", Authorization: "Bearer " + token, Accept: "text/html,*/*"},
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

// panicking is a RoundTripper with a bug, as a user's instrumentation might have.
type panicking struct{ calls atomic.Int64 }

func (p *panicking) RoundTrip(*http.Request) (*http.Response, error) {
	p.calls.Add(1)
	panic("instrumentation bug")
}

// A panic on the whoami path fails the request closed (502), is reported, and the process
// keeps serving (issue 8.3): singleflight alone would re-raise it where no server recovers it.
func TestPanickingTransportFailsClosed(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	rt := &panicking{}
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: srv.URL}}
	cfg.HTTPClient = &http.Client{Transport: rt}
	var reported atomic.Int64
	v := newVerifier(t, srv.URL, core.Config{APIClient: ory.NewAPIClient(cfg), OnError: func(_ context.Context, err error) {
		if strings.Contains(err.Error(), "panic") {
			reported.Add(1)
		}
	}})
	g := core.MustGuard(core.RequireAAL2, core.WithVerifier(v))
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if d := g.Check(ctx(t), apiRequest(token)); d.Outcome != core.Unavailable || d.Status != 502 {
				t.Errorf("panicking transport: %v %d", d.Outcome, d.Status)
			}
		})
	}
	wg.Wait()
	if n := reported.Load(); n == 0 || n != rt.calls.Load() {
		t.Fatalf("%d panics reported for %d calls", n, rt.calls.Load())
	}
}

// A user's own client keeps its transport but loses its dangerous habits (issue 8.4): it
// never follows a redirect (the session token must not travel to wherever it points), never
// reads an unbounded body, and every call is bounded by the verifier's timeout. The user's
// client itself is not changed.
func TestUserClientIsHardened(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	var elsewhere atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		if r.Header.Get("X-Session-Token") != "" {
			t.Errorf("the session token reached another host")
		}
		writeJSON(w, 200, sessionJSON(t, srv, token))
	}))
	t.Cleanup(evil.Close)
	userClient := &http.Client{} // follows redirects, no timeout, DefaultTransport
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: srv.URL}}
	cfg.HTTPClient = userClient
	api := ory.NewAPIClient(cfg)
	v := newVerifier(t, srv.URL, core.Config{APIClient: api, Timeout: 200 * time.Millisecond, Cache: core.CacheConfig{Disabled: true}})
	g := core.MustGuard(core.RequireSession, core.WithVerifier(v))

	srv.Respond(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+"/sessions/whoami", http.StatusTemporaryRedirect)
	})
	if d := g.Check(ctx(t), apiRequest(token)); d.Allowed() || d.Status != 502 || elsewhere.Load() != 0 {
		t.Fatalf("redirect: %v %d, %d requests elsewhere", d.Outcome, d.Status, elsewhere.Load())
	}

	srv.Respond(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"`))
		chunk := []byte(strings.Repeat("a", 1<<20))
		for range 256 { // 256 MiB, if anyone read it all
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := g.Check(ctx(t), apiRequest(token))
	runtime.ReadMemStats(&after)
	if d.Allowed() || d.Status != 502 {
		t.Fatalf("huge body: %v %d", d.Outcome, d.Status)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Fatalf("a 256 MiB answer made the verifier allocate %d MiB", grew>>20)
	}

	srv.SetFault(orymfatest.Slow(time.Minute))
	if d := g.Check(ctx(t), apiRequest(token)); d.Status != 504 {
		t.Fatalf("slow Ory with a client without timeout: %d, want 504 after the verifier's timeout", d.Status)
	}
	if cfg.HTTPClient != userClient || userClient.CheckRedirect != nil || userClient.Transport != nil || userClient.Timeout != 0 {
		t.Fatal("the user's client was changed")
	}
}

// A shared whoami call ends once every request waiting on it has given up (issue 8.6): 1,000
// requests for 250 sessions, all waiting on an Ory that never answers, give up together once
// Ory has received its 250 calls; then nothing stays running at Ory and each call was
// cancelled. (They give up on a signal rather than after a fixed 20 ms so that a loaded
// machine cannot make them give up before their calls even reach Ory.)
func TestAbandonedWhoamiCallsAreCancelled(t *testing.T) {
	srv := orymfatest.NewServer(t)
	var running, cancelled atomic.Int64
	stop := make(chan struct{}) // closed before the server, so a failing test does not hang in Close
	t.Cleanup(func() { close(stop) })
	srv.Respond(func(w http.ResponseWriter, r *http.Request) {
		running.Add(1)
		defer running.Add(-1)
		select { // an Ory that never answers
		case <-r.Context().Done():
			cancelled.Add(1)
		case <-stop:
		}
	})
	v := newVerifier(t, srv.URL, core.Config{Timeout: time.Minute, MaxIdleConns: 1000})
	g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
	const n, sessions = 1000, 250
	giveUp := giveUpContext{Context: context.Background(), done: make(chan struct{})}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if d := g.Check(giveUp, apiRequest("ory_st_"+strconv.Itoa(i%sessions))); d.Status != 504 {
				t.Errorf("gave up: %d, want 504", d.Status)
			}
		})
	}
	waitFor(t, func() bool { return running.Load() == sessions }, "Ory to receive one call per session")
	close(giveUp.done)
	wg.Wait()
	waitFor(t, func() bool { return running.Load() == 0 }, "every whoami call to end at Ory after every caller gave up")
	if c := cancelled.Load(); c != sessions {
		t.Fatalf("%d calls seen cancelled at Ory, want %d (one per session)", c, sessions)
	}
}

// giveUpContext is a caller's context whose deadline passes when done is closed.
type giveUpContext struct {
	context.Context
	done chan struct{}
}

func (c giveUpContext) Done() <-chan struct{} { return c.done }

func (c giveUpContext) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// waitFor waits up to 20 s for cond, yielding the processor in between.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// A Verifier that is dropped leaks nothing (issue 8.7): no goroutine per verifier, and the
// idle connections of its own transport are closed once it is collected.
func TestDroppedVerifiersLeakNothing(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	settle := func() (int, uint64) {
		var m runtime.MemStats
		for range 5 {
			runtime.GC()
			runtime.Gosched()
		}
		runtime.ReadMemStats(&m)
		return runtime.NumGoroutine(), m.HeapAlloc
	}
	// Warm up what stays for the process (the kit's own goroutines, http internals).
	v := newVerifier(t, srv.URL, core.Config{})
	core.MustGuard(core.RequireSession, core.WithVerifier(v)).Check(ctx(t), apiRequest(token))
	v = nil
	goroutines, heap := settle()

	for i := range 10_000 {
		v := newVerifier(t, srv.URL, core.Config{})
		g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
		if i%100 == 0 { // every hundredth one talks to Ory: a connection and a cache table
			if d := g.Check(ctx(t), apiRequest(token)); !d.Allowed() {
				t.Fatalf("denied: %v", d.Err)
			}
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		g, h := settle()
		if g <= goroutines+2 && h < heap+8<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after dropping 10,000 verifiers: %d goroutines (was %d), heap %d MiB (was %d MiB)", g, goroutines, h>>20, heap>>20)
		}
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
