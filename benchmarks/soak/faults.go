package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// The fault matrix: each way Ory can fail × each adapter → what the client got, and whether
// the handler ran (it must never). A valid aal2 session of the kit's is presented twice per
// cell, as an API client (X-Session-Token, JSON) and as a browser (the ory_kratos_session
// cookie, text/html), so that the only reason to refuse it is the fault.

// faultTimeout is the verifier's whoami timeout in the matrix; the slow fault answers later.
const faultTimeout = 300 * time.Millisecond

// fault is one way for Ory to fail.
type fault struct {
	Name string
	// What Ory (or whatever answers in its place) does.
	What string
	// control marks the row without a fault, which must grant.
	control bool
	// setup points cfg at the failing Ory; kit is a fresh test-kit server whose aal2 session
	// the requests carry. It returns a function that reports, after the requests, anything
	// the fault saw that it must not have (e.g. a credential sent to a foreign host).
	setup func(tb testing.TB, kit *orymfatest.Server, token string, cfg *core.Config) (after func() string)
}

// faults is the matrix's rows. The first is the control: without a fault the same requests
// are let through, so the 5xx of the other rows are the faults' doing.
var faults = []fault{
	{
		Name:    "none",
		What:    "no fault: the kit answers 200 with the aal2 session (the control row: 200, handler ran)",
		control: true,
	},
	{
		Name: "down",
		What: "connection refused: nothing listens on Ory's port (as while Kratos is stopped)",
		setup: func(tb testing.TB, _ *orymfatest.Server, _ string, cfg *core.Config) func() string {
			cfg.SDKURL = "http://" + closedPort(tb)
			return nil
		},
	},
	{
		Name: "dropped",
		What: "the connection is accepted and closed without an answer (kit Down)",
		setup: func(_ testing.TB, kit *orymfatest.Server, _ string, _ *core.Config) func() string {
			kit.SetFault(orymfatest.Down)
			return nil
		},
	},
	{
		Name: "slow",
		What: "whoami answers after 3 s, past the verifier's 300 ms timeout (kit Slow)",
		setup: func(_ testing.TB, kit *orymfatest.Server, _ string, cfg *core.Config) func() string {
			kit.SetFault(orymfatest.Slow(3 * time.Second))
			cfg.Timeout = faultTimeout
			return nil
		},
	},
	{
		Name: "500",
		What: "500 with Kratos's error body (kit Status(500))",
		setup: func(_ testing.TB, kit *orymfatest.Server, _ string, _ *core.Config) func() string {
			kit.SetFault(orymfatest.Status(http.StatusInternalServerError))
			return nil
		},
	},
	{
		Name: "malformed",
		What: "200 with a truncated session body (kit Malformed)",
		setup: func(_ testing.TB, kit *orymfatest.Server, _ string, _ *core.Config) func() string {
			kit.SetFault(orymfatest.Malformed)
			return nil
		},
	},
	{
		Name: "html",
		What: "200 with an HTML page, as a captive portal or a proxy's error page (kit Respond)",
		setup: func(_ testing.TB, kit *orymfatest.Server, _ string, _ *core.Config) func() string {
			kit.Respond(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = io.WriteString(w, "<!doctype html><title>Sign in to the network</title>")
			})
			return nil
		},
	},
	{
		Name: "404",
		What: "404, as from an SDK URL with a wrong path (kit Status(404))",
		setup: func(_ testing.TB, kit *orymfatest.Server, _ string, _ *core.Config) func() string {
			kit.SetFault(orymfatest.Status(http.StatusNotFound))
			return nil
		},
	},
	{
		Name: "inactive",
		What: `200 with the session, but "active": false (kit Respond)`,
		setup: func(tb testing.TB, kit *orymfatest.Server, token string, _ *core.Config) func() string {
			s := kit.Session(token)
			s.Active = ory.PtrBool(false)
			body, err := json.Marshal(s)
			if err != nil {
				tb.Fatalf("inactive session: %v", err)
			}
			kit.Respond(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(body)
			})
			return nil
		},
	},
	{
		Name: "403 unknown",
		What: "403 with error id security_csrf_violation, not session_aal2_required (kit Respond)",
		setup: func(_ testing.TB, kit *orymfatest.Server, _ string, _ *core.Config) func() string {
			kit.Respond(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `{"error":{"id":"security_csrf_violation","code":403,"status":"Forbidden","reason":"Please retry the flow and optionally clear your cookies.","message":"the request was rejected to protect you from Cross-Site-Request-Forgery"}}`)
			})
			return nil
		},
	},
	{
		Name: "panic",
		What: "the app's own APIClient (Config.APIClient), whose RoundTripper panics",
		setup: func(_ testing.TB, kit *orymfatest.Server, _ string, cfg *core.Config) func() string {
			oc := ory.NewConfiguration()
			oc.Servers = ory.ServerConfigurations{{URL: kit.URL}}
			oc.HTTPClient = &http.Client{Transport: panicTransport{}}
			cfg.APIClient = ory.NewAPIClient(oc)
			return nil
		},
	},
	{
		Name: "redirect",
		What: "307 to another host, which would answer 200 with the session (kit Respond)",
		setup: func(tb testing.TB, kit *orymfatest.Server, token string, _ *core.Config) func() string {
			body, err := json.Marshal(kit.Session(token))
			if err != nil {
				tb.Fatalf("redirect: %v", err)
			}
			var got atomic.Int64
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Session-Token") != "" || r.Header.Get("Cookie") != "" {
					got.Add(1)
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(body)
			}))
			tb.Cleanup(other.Close)
			kit.Respond(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/sessions/whoami", http.StatusTemporaryRedirect)
			})
			return func() string {
				if n := got.Load(); n > 0 {
					return fmt.Sprintf("the other host received the credential %d times", n)
				}
				return ""
			}
		},
	},
}

// panicTransport is a user's RoundTripper gone wrong (instrumentation, a proxy dialer).
type panicTransport struct{}

func (panicTransport) RoundTrip(*http.Request) (*http.Response, error) {
	panic("soak: a RoundTripper that panics")
}

// closedPort returns a loopback host:port on which nothing listens: bound, then released.
func closedPort(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("closed port: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// cellRequest is one request of a cell.
type cellRequest struct {
	Status     int
	HandlerRan bool
	Err        error
}

// cell is one adapter's result for one fault.
type cell struct {
	API, Browser cellRequest
	Leak         string // what the fault saw that it must not have ("" if nothing)
}

// ok reports whether the cell failed closed, or for the control row, let the requests
// through.
func (c cell) ok(control bool) bool {
	for _, r := range []cellRequest{c.API, c.Browser} {
		switch {
		case r.Err != nil:
			return false
		case control && (r.Status != http.StatusOK || !r.HandlerRan):
			return false
		case !control && (r.HandlerRan || r.Status < 500 || r.Status > 599):
			return false
		}
	}
	return c.Leak == ""
}

// String is the cell as the table shows it.
func (c cell) String() string {
	one := func(r cellRequest) string {
		switch {
		case r.Err != nil:
			return "error"
		case r.HandlerRan && r.Status == http.StatusOK:
			return "200 ran"
		case r.HandlerRan:
			return fmt.Sprintf("%d HANDLER RAN", r.Status)
		}
		return fmt.Sprint(r.Status)
	}
	s := one(c.API)
	if b := one(c.Browser); b != s {
		s += " / " + b
	}
	if c.Leak != "" {
		s += " LEAK"
	}
	return s
}

// faultMatrix runs every fault against every adapter in adapters. tb owns the kit servers;
// a command passes a cleanupTB.
func faultMatrix(tb testing.TB, adapters []string) (map[string]map[string]cell, error) {
	out := map[string]map[string]cell{}
	for _, f := range faults {
		out[f.Name] = map[string]cell{}
		for _, adapter := range adapters {
			c, err := runCell(tb, f, adapter)
			if err != nil {
				return nil, fmt.Errorf("%s × %s: %w", f.Name, adapter, err)
			}
			out[f.Name][adapter] = c
		}
	}
	return out, nil
}

// runCell builds a fresh kit, verifier and app for one fault and adapter and sends the two
// requests.
func runCell(tb testing.TB, f fault, adapter string) (cell, error) {
	kit := orymfatest.NewServer(tb)
	id := kit.NewIdentity(orymfatest.WithSecondFactor())
	token := kit.SignIn(id, orymfatest.AAL2)
	cookie := kit.Cookie(token)
	cfg := core.Config{
		SDKURL:  kit.URL,
		AppURL:  "http://127.0.0.1",
		Cache:   core.CacheConfig{Disabled: true},
		Logger:  slog.New(slog.DiscardHandler),
		OnError: func(context.Context, error) {},
	}
	var after func() string
	if f.setup != nil {
		after = f.setup(tb, kit, token, &cfg)
	}
	v, err := core.New(cfg)
	if err != nil {
		return cell{}, err
	}
	var ran atomic.Bool
	a, err := startApp(adapter, v, func(string, *ory.Session, bool) { ran.Store(true) })
	if err != nil {
		return cell{}, err
	}
	defer a.close()
	hc := &http.Client{
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{DisableKeepAlives: true},
	}
	send := func(set func(h http.Header)) cellRequest {
		ran.Store(false)
		req, _ := http.NewRequest(http.MethodGet, a.URL+"/r", nil)
		set(req.Header)
		res, err := hc.Do(req)
		if err != nil {
			return cellRequest{Err: err}
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return cellRequest{Status: res.StatusCode, HandlerRan: ran.Load()}
	}
	var c cell
	c.API = send(func(h http.Header) {
		h.Set("X-Session-Token", token)
		h.Set("Accept", "application/json")
	})
	c.Browser = send(func(h http.Header) {
		h.Set("Cookie", "theme=dark; "+cookie.Name+"="+cookie.Value)
		h.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	})
	if after != nil {
		c.Leak = after()
	}
	return c, nil
}

// cleanupTB lets the command use the test kit outside a test: it runs the kit's cleanups
// when closed and turns a kit's Fatalf (a misuse) into a panic. Only the methods the kit
// calls are implemented; the embedded nil TB panics on the others.
type cleanupTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

func (t *cleanupTB) Helper() {}

func (t *cleanupTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *cleanupTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (t *cleanupTB) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

func (t *cleanupTB) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (t *cleanupTB) Logf(string, ...any) {}

func (t *cleanupTB) Name() string { return "soak" }

// close runs the cleanups, last registered first.
func (t *cleanupTB) close() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// matrixTable renders the matrix as a Markdown table.
func matrixTable(m map[string]map[string]cell, adapters []string) string {
	var b strings.Builder
	b.WriteString("| Ory fault | " + strings.Join(adapters, " | ") + " |\n|---|")
	b.WriteString(strings.Repeat("---|", len(adapters)) + "\n")
	for _, f := range faults {
		row, ok := m[f.Name]
		if !ok {
			continue
		}
		b.WriteString("| " + f.Name + " |")
		for _, a := range adapters {
			b.WriteString(" " + row[a].String() + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// matrixProblems reports every cell that did not fail closed (or, in the control row, was
// not let through), and rows whose adapters disagree.
func matrixProblems(m map[string]map[string]cell, adapters []string) []string {
	var out []string
	for _, f := range faults {
		first := ""
		for _, a := range adapters {
			c := m[f.Name][a]
			if !c.ok(f.control) {
				detail := c.String()
				for _, r := range []cellRequest{c.API, c.Browser} {
					if r.Err != nil {
						detail += ": " + r.Err.Error()
					}
				}
				out = append(out, fmt.Sprintf("%s × %s: %s (%s)", f.Name, a, detail, c.Leak))
			}
			if first == "" {
				first = c.String()
			} else if c.String() != first {
				out = append(out, fmt.Sprintf("%s: %s answers %s, %s answers %s", f.Name, adapters[0], first, a, c.String()))
			}
		}
	}
	return out
}
