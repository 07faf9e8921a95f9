package conformance

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// The rest of the ways Ory can fail that the soak used to stage by hand: nothing listening on
// Ory's port (Kratos stopped), an HTML page where the session should be (a captive portal, a
// proxy's error page), and a 404 (an SDK URL with a wrong path). Each is presented a valid
// session, as an API client and as a browser, so the only reason to refuse it is the fault.
func init() {
	scenarios = append(scenarios,
		scenario{name: "Ory's port closed: 503, a page for browsers, the handler never runs", kind: totp, kitOnly: true, run: func(t *testing.T, e *env) {
			u := e.ory.signUp(t)
			c := e.kit().Cookie(u.token)
			// A second app of the same framework whose verifier asks a port nothing listens
			// on, as while Kratos is stopped: every dial is refused.
			v, calls := e.verifier("http://"+closedPort(t), core.Config{})
			e.base = e.adapter.Serve(t, App{Verifier: v, Other: v, MaxAge: maxAge,
				Handle: func(_, _ *ory.Session) (int, []byte) { e.ran.Add(1); return http.StatusOK, nil },
				Deny:   func(*core.Decision) (int, []byte) { return http.StatusTeapot, nil },
			})
			e.unavailable(e.do(request{path: "/session", token: u.token}), 503)
			e.unavailablePage(e.do(request{path: "/aal2", browser: browser, cookie: c.Name + "=" + c.Value}), 503)
			if n := calls.calls.Load(); n != 2 {
				t.Fatalf("%d whoami attempts, want 2 (one per request)", n)
			}
		}},
		scenario{name: "Ory's admin URL as the SDK URL: 502, and the error says SDKURL must be Ory's public URL", kind: totp, run: func(t *testing.T, e *env) {
			u := e.ory.signUp(t)
			c := e.ory.newBrowser(t).cookie(t)
			var (
				mu   sync.Mutex
				errs []string
			)
			// A second app of the same framework whose verifier was given the admin URL, the
			// mistake that starts fine and then fails every request.
			v, _ := e.verifier(e.ory.adminURL(t), core.Config{OnError: func(_ context.Context, err error) {
				mu.Lock()
				errs = append(errs, err.Error())
				mu.Unlock()
			}})
			e.base = e.adapter.Serve(t, App{Verifier: v, Other: v, MaxAge: maxAge,
				Handle: func(_, _ *ory.Session) (int, []byte) { e.ran.Add(1); return http.StatusOK, nil },
				Deny:   func(*core.Decision) (int, []byte) { return http.StatusTeapot, nil },
			})
			e.unavailable(e.do(request{path: "/session", token: u.token}), 502)
			e.unavailablePage(e.do(request{path: "/aal2", browser: browser, cookie: c}), 502)
			mu.Lock()
			defer mu.Unlock()
			if len(errs) != 2 {
				t.Fatalf("%d errors reported, want one per request: %q", len(errs), errs)
			}
			for _, err := range errs {
				if !strings.Contains(err, "whoami answered 307") || !strings.Contains(err, "SDKURL (ORY_SDK_URL) must be Ory's public URL") || !strings.Contains(err, "not the admin API") {
					t.Fatalf("the error %q does not say that SDKURL must be Ory's public URL", err)
				}
			}
		}},
		scenario{name: "Ory answering an HTML page or a 404: 502 and the handler never runs", kind: totp, kitOnly: true, run: func(t *testing.T, e *env) {
			u := e.ory.signUp(t)
			e.ory.enroll(t, u, u.token)
			c := e.kit().Cookie(u.token)
			for _, fault := range []func(){
				func() {
					e.kit().Respond(func(w http.ResponseWriter, _ *http.Request) {
						w.Header().Set("Content-Type", "text/html; charset=utf-8")
						_, _ = io.WriteString(w, "<!doctype html><title>Sign in to the network</title>")
					})
				},
				func() { e.kit().SetFault(orymfatest.Status(http.StatusNotFound)) },
			} {
				fault()
				e.unavailable(e.do(request{path: "/aal2", token: u.token}), 502)
				e.unavailablePage(e.do(request{path: "/aal2", browser: browser, cookie: c.Name + "=" + c.Value}), 502)
			}
			// The same session passes once Ory answers again: the 502s were the faults' doing.
			e.kit().ClearFault()
			e.allowed(e.do(request{path: "/aal2", token: u.token}), e.ory.session(t, u.token).Identity.ID, "aal2")
		}},
		scenario{name: "Ory rate-limiting the app (429): 503 with Ory's Retry-After, a page for browsers, then the same session passes", kind: totp, kitOnly: true, run: func(t *testing.T, e *env) {
			u := e.ory.signUp(t)
			e.ory.enroll(t, u, u.token)
			c := e.kit().Cookie(u.token)
			e.kit().Respond(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "17")
				writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{"code": 429, "status": "Too Many Requests", "message": "rate limit exceeded"}})
			})
			api := e.do(request{path: "/aal2", token: u.token})
			e.unavailable(api, 503)
			page := e.do(request{path: "/aal2", browser: browser, cookie: c.Name + "=" + c.Value})
			e.unavailablePage(page, 503)
			for _, r := range []response{api, page} {
				if got := r.header.Get("Retry-After"); got != "17" {
					t.Fatalf("Retry-After %q, want Ory's 17", got)
				}
			}
			e.kit().ClearFault()
			e.allowed(e.do(request{path: "/aal2", token: u.token}), e.ory.session(t, u.token).Identity.ID, "aal2")
		}},
		// The timeout is not short: after the slow spell the same session must pass within it,
		// and on a busy machine (the table runs under -race, beside other work) a whoami call to
		// the kit has taken over 200 ms.
		scenario{name: "Ory slow for a browser: a 504 page, then the same session passes", kind: totp, kitOnly: true, cfg: core.Config{Timeout: 2 * time.Second}, run: func(t *testing.T, e *env) {
			u := e.ory.signUp(t)
			e.ory.enroll(t, u, u.token)
			c := e.kit().Cookie(u.token)
			e.kit().SetFault(orymfatest.Slow(time.Minute))
			e.unavailablePage(e.do(request{path: "/aal2", browser: browser, cookie: c.Name + "=" + c.Value}), 504)
			e.kit().ClearFault()
			e.allowed(e.do(request{path: "/aal2", token: u.token}), e.ory.session(t, u.token).Identity.ID, "aal2")
		}},
		scenario{name: "a panicking OnError hook: the request fails closed, the next request is served", kind: totp, kitOnly: true,
			cfg: core.Config{OnError: func(context.Context, error) { var m map[string]int; m["bug"]++ }}, run: func(t *testing.T, e *env) {
				// The hook runs inside the shared whoami call, a goroutine of the core's own:
				// a panic escaping it would end the process, whatever the framework.
				u := e.ory.signUp(t)
				e.ory.enroll(t, u, u.token)
				c := e.kit().Cookie(u.token)
				e.kit().SetFault(orymfatest.Status(http.StatusInternalServerError))
				e.unavailable(e.do(request{path: "/aal2", token: u.token}), 502)
				e.unavailablePage(e.do(request{path: "/aal2", browser: browser, cookie: c.Name + "=" + c.Value}), 502)
				e.kit().ClearFault()
				e.allowed(e.do(request{path: "/aal2", token: u.token}), e.ory.session(t, u.token).Identity.ID, "aal2")
			}},
		scenario{name: "a panicking Observer: the request fails closed, the next request is served", kind: totp, run: func(t *testing.T, e *env) {
			// A panic on the request's path must not reach the framework either: fiber's
			// server does not recover it.
			u := e.ory.signUp(t)
			e.ory.enroll(t, u, u.token)
			obs := &buggyObserver{}
			obs.bug.Store(true)
			v, _ := e.verifier(e.ory.url(), core.Config{Observer: obs})
			app := newApp(v, v, maxAge, &e.ran)
			app.OnError = e.onError
			e.base = e.adapter.Serve(t, app)
			e.unavailable(e.do(request{path: "/aal2", token: u.token}), 502)
			obs.bug.Store(false)
			e.allowed(e.do(request{path: "/aal2", token: u.token}), e.ory.session(t, u.token).Identity.ID, "aal2")
		}},
	)
}

// buggyObserver's EndCheck panics while bug is set, as a metrics hook with a bug (a write to
// a nil map) would.
type buggyObserver struct {
	core.NoopObserver
	bug atomic.Bool
}

func (o *buggyObserver) EndCheck(context.Context, core.CheckEvent) {
	if o.bug.Load() {
		var m map[string]int
		m["bug"]++
	}
}

// closedPort returns a loopback host:port on which nothing listens: bound, then released.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	must(t, ln.Close())
	return addr
}
