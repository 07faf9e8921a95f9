package orymfa_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	ory "github.com/ory/client-go"
	"github.com/valyala/fasthttp"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/fiber/v3"
	"github.com/orymfa/orymfa/orymfatest"
)

// kit is a fake Ory with two signed-in users and a verifier for it. The cache is off, so every
// whoami call the middleware makes shows in srv.Calls().
type kit struct {
	srv   *orymfatest.Server
	v     *orymfa.Verifier
	token map[string]string // by AAL: "aal1" (a user without a second factor) and "aal2"
	user  map[string]string // identity id by AAL
}

func newKit(t *testing.T, cfg orymfa.Config) *kit {
	t.Helper()
	srv := orymfatest.NewServer(t)
	cfg.SDKURL = srv.URL
	cfg.Cache = orymfa.CacheConfig{Disabled: true}
	cfg.Logger = slog.New(slog.DiscardHandler) // not "AppURL is not set" for every test
	if cfg.OnError == nil {
		cfg.OnError = func(_ context.Context, err error) { t.Log(err) }
	}
	k := &kit{srv: srv, v: orymfa.MustNew(cfg), token: map[string]string{}, user: map[string]string{}}
	for _, aal := range []orymfatest.AAL{orymfatest.AAL1, orymfatest.AAL2} {
		id := srv.NewIdentity()
		k.token[string(aal)] = srv.SignIn(id, aal)
		k.user[string(aal)] = id.ID
	}
	return k
}

// cookie is the Kratos-sized browser session cookie of the session with the given AAL.
func (k *kit) cookie(aal string) string {
	c := k.srv.Cookie(k.token[aal])
	return c.Name + "=" + c.Value
}

// reply is what the test handler answers: what it saw of the session.
type reply struct {
	Ran         bool   `json:"ran"`
	IdentityID  string `json:"identity_id"`
	SessionID   string `json:"session_id"`
	AAL         string `json:"aal"`
	InLocals    bool   `json:"in_locals"`    // c.Locals(SessionKey) holds it too
	SameContext bool   `json:"same_context"` // the accessor and c.Context() hold the same session
}

func handle(c fiber.Ctx) error {
	r := reply{Ran: true}
	if s, ok := orymfa.Session(c); ok {
		r.IdentityID = s.Identity.Id
		r.SessionID = s.Id
		r.AAL = string(s.GetAuthenticatorAssuranceLevel())
		fromCtx, _ := core.SessionFromContext(c.Context())
		r.SameContext = fromCtx == s
		r.InLocals = fiber.Locals[*ory.Session](c, orymfa.SessionKey) == s
	}
	return c.JSON(r)
}

type oryError struct {
	Error struct {
		ID      string         `json:"id"`
		Code    int            `json:"code"`
		Details map[string]any `json:"details"`
	} `json:"error"`
	RedirectBrowserTo string `json:"redirect_browser_to"`
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, app *fiber.App, path string, header http.Header) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://example.com"+path, nil)
	req.RequestURI = "" // origin-form with a Host header, as browsers send it
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := app.Test(req, fiber.TestConfig{})
	if err != nil {
		t.Fatalf("app.Test: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// TestFiberSpecifics covers what only the fiber adapter does: several Cookie headers, the
// headers read with and without cookies (request.go reads them differently), X-Forwarded-*
// ignored unless the verifier trusts them (whatever fiber's proxy settings say), Next (alone
// and with a deny handler, in both orders), and failing closed. Everything the adapters share
// is in the conformance table against real Kratos (internal/conformance).
func TestFiberSpecifics(t *testing.T) {
	teapot := orymfa.WithDenyHandler(func(c fiber.Ctx, d *orymfa.Decision) error {
		return c.Status(http.StatusTeapot).JSON(map[string]string{"outcome": d.Outcome.String()})
	})
	skipHeader := orymfa.WithNext(func(c fiber.Ctx) bool { return c.Get("X-Skip") == "1" })
	tests := []struct {
		name      string
		aal2      bool // RequireAAL2 instead of RequireSession
		trustFwd  bool // Config.TrustForwardedHeaders
		opts      []orymfa.Option
		header    func(k *kit) http.Header
		fault     orymfatest.Fault
		status    int
		ran       bool
		aal       string // the handler saw this AAL's user and session, in Locals and c.Context()
		errorID   string // Ory error id in the JSON body
		location  string // Location after the fake's URL
		body      string // substring of the body
		forwarded string // the Cookie header whoami got: that AAL's cookie ("": none, "-": the unknown one)
		calls     int    // whoami calls
	}{
		{name: "two cookie headers", header: func(k *kit) http.Header {
			return http.Header{"Cookie": {"app=1", k.cookie("aal1")}, "Accept": {"text/html"}}
		}, status: 200, ran: true, aal: "aal1", forwarded: "aal1", calls: 1},
		{name: "forwarded headers untrusted", header: func(*kit) http.Header {
			return http.Header{"Accept": {"text/html"}, "X-Forwarded-Host": {"evil.example"}, "X-Forwarded-Proto": {"https"}}
		}, status: 303, location: "/self-service/login/browser?return_to=http%3A%2F%2Fexample.com%2Fr%3Fq%3D1"},
		{name: "forwarded headers trusted", trustFwd: true, header: func(*kit) http.Header {
			return http.Header{"Accept": {"text/html"}, "X-Forwarded-Host": {"app.example"}, "X-Forwarded-Proto": {"https"}}
		}, status: 303, location: "/self-service/login/browser?return_to=https%3A%2F%2Fapp.example%2Fr%3Fq%3D1"},
		// With a Cookie header the other headers are read one by one (request.go): the same
		// answers.
		{name: "forwarded headers trusted, with cookies", trustFwd: true, header: func(*kit) http.Header {
			return http.Header{"Cookie": {"theme=dark"}, "Accept": {"text/html"}, "X-Forwarded-Host": {"app.example"}, "X-Forwarded-Proto": {"https"}}
		}, status: 303, location: "/self-service/login/browser?return_to=https%3A%2F%2Fapp.example%2Fr%3Fq%3D1"},
		{name: "forwarded headers untrusted, with cookies", header: func(*kit) http.Header {
			return http.Header{"Cookie": {"theme=dark"}, "Accept": {"text/html"}, "X-Forwarded-Host": {"evil.example"}}
		}, status: 303, location: "/self-service/login/browser?return_to=http%3A%2F%2Fexample.com%2Fr%3Fq%3D1"},
		{name: "unknown cookie, API client", header: func(k *kit) http.Header {
			return http.Header{"Cookie": {"theme=dark; " + orymfatest.DefaultCookieName + "=nosuchsession"}, "Accept": {"application/json"}}
		}, status: 401, errorID: "session_inactive", forwarded: "-", calls: 1},
		{name: "token wins over cookie", aal2: true, header: func(k *kit) http.Header {
			return http.Header{"Cookie": {k.cookie("aal1")}, "X-Session-Token": {k.token["aal2"]}}
		}, status: 200, ran: true, aal: "aal2", calls: 1},
		{name: "bearer wins over cookie", aal2: true, header: func(k *kit) http.Header {
			return http.Header{"Cookie": {k.cookie("aal1")}, "Authorization": {"Bearer " + k.token["aal2"]}}
		}, status: 200, ran: true, aal: "aal2", calls: 1},
		{name: "next skips", aal2: true, opts: []orymfa.Option{skipHeader}, header: func(*kit) http.Header {
			return http.Header{"X-Skip": {"1"}}
		}, status: 200, ran: true},
		{name: "next does not skip", aal2: true, opts: []orymfa.Option{skipHeader}, header: func(*kit) http.Header {
			return http.Header{"X-Skip": {"0"}}
		}, status: 401, errorID: "session_inactive"},
		{name: "next and deny handler together", opts: []orymfa.Option{skipHeader, teapot},
			status: http.StatusTeapot, body: `"outcome":"login"`},
		{name: "next and deny handler together, skipped", opts: []orymfa.Option{teapot, skipHeader}, header: func(*kit) http.Header {
			return http.Header{"X-Skip": {"1"}}
		}, status: 200, ran: true},
		{name: "ory answers 500", aal2: true, fault: orymfatest.Status(500), header: func(k *kit) http.Header {
			return http.Header{"X-Session-Token": {k.token["aal2"]}, "Accept": {"application/json"}}
		}, status: 502, errorID: "ory_unavailable", calls: 1},
		{name: "ory answers malformed", fault: orymfatest.Malformed, header: func(k *kit) http.Header {
			return http.Header{"Cookie": {k.cookie("aal2")}, "Accept": {"application/json"}}
		}, status: 502, errorID: "ory_unavailable", forwarded: "aal2", calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKit(t, orymfa.Config{TrustForwardedHeaders: tt.trustFwd, OnError: func(context.Context, error) {}})
			k.srv.SetFault(tt.fault)
			opts := append([]orymfa.Option{orymfa.WithVerifier(k.v)}, tt.opts...)
			guard := orymfa.RequireSession(opts...)
			if tt.aal2 {
				guard = orymfa.RequireAAL2(opts...)
			}
			app := fiber.New()
			app.Get("/r", guard, handle)

			var header http.Header
			if tt.header != nil {
				header = tt.header(k)
			}
			r := do(t, app, "/r?q=1", header)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
			}
			var got reply
			if tt.ran {
				if err := json.Unmarshal(r.body, &got); err != nil || !got.Ran {
					t.Fatalf("handler did not run: %s", r.body)
				}
				want := reply{Ran: true}
				if tt.aal != "" {
					want = reply{Ran: true, IdentityID: k.user[tt.aal], SessionID: k.srv.Session(k.token[tt.aal]).Id, AAL: tt.aal, InLocals: true, SameContext: true}
				}
				if got != want {
					t.Errorf("handler saw %+v, want %+v", got, want)
				}
			} else if json.Unmarshal(r.body, &got) == nil && got.Ran {
				t.Fatalf("handler ran on a denial")
			}
			if tt.errorID != "" {
				var e oryError
				if err := json.Unmarshal(r.body, &e); err != nil || e.Error.ID != tt.errorID || e.Error.Code != tt.status {
					t.Errorf("body %s, want Ory error %s/%d", r.body, tt.errorID, tt.status)
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q", ct)
				}
				if r.header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", r.header.Get("Cache-Control"))
				}
			}
			if loc := r.header.Get("Location"); (tt.location != "" || loc != "") && loc != k.srv.URL+tt.location {
				t.Errorf("Location = %q, want %q", loc, k.srv.URL+tt.location)
			}
			if tt.body != "" && !strings.Contains(string(r.body), tt.body) {
				t.Errorf("body %s, want it to contain %s", r.body, tt.body)
			}
			wantCookie := ""
			switch tt.forwarded {
			case "":
			case "-":
				wantCookie = orymfatest.DefaultCookieName + "=nosuchsession"
			default:
				wantCookie = k.cookie(tt.forwarded)
			}
			if got := k.srv.LastCookie(); got != wantCookie {
				t.Errorf("whoami got Cookie %q, want %q (only the Ory session cookie)", got, wantCookie)
			}
			if n := k.srv.Calls(); n != tt.calls {
				t.Errorf("whoami calls = %d, want %d", n, tt.calls)
			}
		})
	}
}

// TestOryDownBrowserPage: with Ory unreachable a browser navigation gets a small HTML page
// (not JSON) with 503 and Retry-After; an API client gets the JSON error with Retry-After.
func TestOryDownBrowserPage(t *testing.T) {
	k := newKit(t, orymfa.Config{OnError: func(context.Context, error) {}})
	k.srv.SetFault(orymfatest.Down)
	app := fiber.New()
	app.Get("/r", orymfa.RequireAAL2(orymfa.WithVerifier(k.v)), handle)

	browser := do(t, app, "/r", http.Header{"Cookie": {k.cookie("aal2")}, "Accept": {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}})
	if browser.status != http.StatusServiceUnavailable || browser.header.Get("Retry-After") == "" {
		t.Errorf("browser: status %d, Retry-After %q; want 503 with Retry-After", browser.status, browser.header.Get("Retry-After"))
	}
	if ct := browser.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(strings.ToLower(string(browser.body)), "<!doctype html>") {
		t.Errorf("browser: Content-Type %q, body %s; want an HTML page", ct, browser.body)
	}
	if strings.Contains(string(browser.body), `"ran"`) || browser.header.Get("Location") != "" {
		t.Errorf("browser: body %s, Location %q", browser.body, browser.header.Get("Location"))
	}

	api := do(t, app, "/r", http.Header{"X-Session-Token": {k.token["aal2"]}, "Accept": {"text/html"}})
	var e oryError
	if err := json.Unmarshal(api.body, &e); err != nil || api.status != 503 || e.Error.ID != "ory_unavailable" || api.header.Get("Retry-After") == "" {
		t.Errorf("token: status %d, Retry-After %q, body %s; want 503 ory_unavailable JSON", api.status, api.header.Get("Retry-After"), api.body)
	}
}

// serveRaw parses a raw HTTP/1.1 request as fasthttp's server does and serves it with h.
func serveRaw(t *testing.T, h fasthttp.RequestHandler, raw string) *fasthttp.Response {
	t.Helper()
	var fc fasthttp.RequestCtx
	if err := fc.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	h(&fc)
	return &fc.Response
}

// TestReturnToHost: return_to's origin comes from the raw Host header. net/http refuses
// "Host: app@evil.example" with 400; fasthttp accepts it and parses its URI host as
// evil.example. The guard must never send the user back to evil.example: without a valid Host
// there is no return_to at all (Ory uses its default). A missing Host fasthttp (since v1.6x)
// refuses itself, as net/http does.
func TestReturnToHost(t *testing.T) {
	k := newKit(t, orymfa.Config{})
	app := fiber.New()
	app.Get("/r", orymfa.RequireSession(orymfa.WithVerifier(k.v)), handle)
	h := app.Handler()
	login := k.srv.URL + "/self-service/login/browser"
	for _, tt := range []struct{ raw, location string }{
		{"GET /r?q=1 HTTP/1.1\r\nHost: app@evil.example\r\nAccept: text/html\r\n\r\n", login},
		{"GET /r?q=1 HTTP/1.1\r\nHost: app@evil.example:443\r\nAccept: text/html\r\n\r\n", login},
		{"GET http://app@evil.example/r?q=1 HTTP/1.1\r\nHost: app@evil.example\r\nAccept: text/html\r\n\r\n", login},
		{"GET /r?q=1 HTTP/1.1\r\nHost: app.example\r\nAccept: text/html\r\n\r\n",
			login + "?return_to=" + url.QueryEscape("http://app.example/r?q=1")},
		// An absolute-form target keeps only its path and query; the origin is the Host header's.
		{"GET http://other.example/r?q=1 HTTP/1.1\r\nHost: app.example\r\nAccept: text/html\r\n\r\n",
			login + "?return_to=" + url.QueryEscape("http://app.example/r?q=1")},
	} {
		resp := serveRaw(t, h, tt.raw)
		if loc := string(resp.Header.Peek("Location")); resp.StatusCode() != http.StatusSeeOther || loc != tt.location {
			t.Errorf("%q: status %d, Location %q; want 303 to %q", tt.raw, resp.StatusCode(), loc, tt.location)
		}
	}
	var req fasthttp.Request
	if err := req.Read(bufio.NewReader(strings.NewReader("GET http://evil.example/r HTTP/1.1\r\nAccept: text/html\r\n\r\n"))); err == nil {
		t.Error("fasthttp accepted a request without Host")
	}
}

// TestRawHeaderNames: with fasthttp's name normalizing off, header names keep the client's
// case, and the credentials are found all the same.
func TestRawHeaderNames(t *testing.T) {
	k := newKit(t, orymfa.Config{})
	app := fiber.New(fiber.Config{DisableHeaderNormalizing: true})
	app.Get("/r", orymfa.RequireAAL2(orymfa.WithVerifier(k.v)), handle)
	for _, header := range []string{
		"x-session-token: " + k.token["aal2"],
		"authorization: bearer " + k.token["aal2"],
		"cookie: theme=dark; " + k.cookie("aal2"),
	} {
		resp := serveRaw(t, app.Handler(), "GET /r HTTP/1.1\r\nHost: app.example\r\n"+header+"\r\naccept: application/json\r\n\r\n")
		if resp.StatusCode() != 200 || !strings.Contains(string(resp.Body()), k.user["aal2"]) {
			t.Errorf("%.30s…: status %d, body %s; want 200 for the aal2 user", header, resp.StatusCode(), resp.Body())
		}
	}
}

// TestCookiesParsedBeforeGuard: a middleware that read a cookie before the guard (fiber's
// c.Cookies makes fasthttp parse them all) changes nothing, with one Cookie header or several.
func TestCookiesParsedBeforeGuard(t *testing.T) {
	k := newKit(t, orymfa.Config{})
	app := fiber.New()
	app.Use(func(c fiber.Ctx) error {
		_ = c.Cookies("theme")
		return c.Next()
	})
	app.Get("/r", orymfa.RequireAAL2(orymfa.WithVerifier(k.v)), handle)
	for _, cookies := range [][]string{{"theme=dark; " + k.cookie("aal2")}, {"theme=dark", k.cookie("aal2"), "lang=en"}} {
		r := do(t, app, "/r", http.Header{"Cookie": cookies})
		if r.status != 200 || !strings.Contains(string(r.body), k.user["aal2"]) {
			t.Errorf("%d Cookie headers: status %d, body %s; want 200 for the aal2 user", len(cookies), r.status, r.body)
		}
		if got := k.srv.LastCookie(); got != k.cookie("aal2") {
			t.Errorf("%d Cookie headers: whoami got Cookie %q", len(cookies), got)
		}
	}
}

// TestStackedGuards: a RequireAAL2 route in a RequireSession group asks Ory once, with the
// cache off, whether it allows or denies; the session is the group's.
func TestStackedGuards(t *testing.T) {
	k := newKit(t, orymfa.Config{})
	app := fiber.New()
	g := app.Group("/g", orymfa.RequireSession(orymfa.WithVerifier(k.v)))
	g.Get("/r", orymfa.RequireAAL2(orymfa.WithVerifier(k.v)), handle)

	r := do(t, app, "/g/r", http.Header{"X-Session-Token": {k.token["aal2"]}})
	var got reply
	if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 || got.IdentityID != k.user["aal2"] || !got.SameContext || !got.InLocals {
		t.Errorf("aal2: status %d, body %s", r.status, r.body)
	}
	if n := k.srv.Calls(); n != 1 {
		t.Errorf("aal2: whoami calls = %d, want 1", n)
	}

	// An aal1 user without a second factor passes the group and is sent to set one up.
	k.srv.ResetCalls()
	r = do(t, app, "/g/r", http.Header{"X-Session-Token": {k.token["aal1"]}})
	var e oryError
	if err := json.Unmarshal(r.body, &e); err != nil || r.status != 403 || e.Error.ID != "session_aal2_required" || e.Error.Details["setup_second_factor"] != true {
		t.Errorf("aal1: status %d, body %s; want 403 with setup_second_factor", r.status, r.body)
	}
	if n := k.srv.Calls(); n != 1 {
		t.Errorf("aal1: whoami calls = %d, want 1", n)
	}
}

// TestDenyHandlerErrorGoesToErrorHandler: a deny handler's error reaches fiber's ErrorHandler.
func TestDenyHandlerErrorGoesToErrorHandler(t *testing.T) {
	k := newKit(t, orymfa.Config{})
	errDenied := errors.New("denied by the app")
	var got error
	app := fiber.New(fiber.Config{ErrorHandler: func(c fiber.Ctx, err error) error {
		got = err
		return c.Status(http.StatusUnavailableForLegalReasons).SendString("handled")
	}})
	app.Get("/r", orymfa.RequireAAL2(orymfa.WithVerifier(k.v), orymfa.WithDenyHandler(func(c fiber.Ctx, d *orymfa.Decision) error {
		return errors.Join(errDenied, d.Err)
	})), handle)

	r := do(t, app, "/r", http.Header{"X-Session-Token": {"ory_st_unknown"}})
	if r.status != http.StatusUnavailableForLegalReasons || string(r.body) != "handled" {
		t.Errorf("status %d, body %s; want the ErrorHandler's 451", r.status, r.body)
	}
	if !errors.Is(got, errDenied) || !errors.Is(got, orymfa.ErrNoSession) {
		t.Errorf("ErrorHandler got %v, want the deny handler's error wrapping ErrNoSession", got)
	}
}

// TestWriteDecisionReplacesHeaders: the denial's headers replace what earlier middleware set
// (a denial must not go out cacheable), as net/http's header assignment does.
func TestWriteDecisionReplacesHeaders(t *testing.T) {
	k := newKit(t, orymfa.Config{})
	app := fiber.New()
	app.Use(func(c fiber.Ctx) error {
		c.Set("Cache-Control", "public, max-age=600")
		return c.Next()
	})
	app.Get("/r", orymfa.RequireSession(orymfa.WithVerifier(k.v)), handle)
	r := do(t, app, "/r", http.Header{"Accept": {"application/json"}})
	if got := r.header.Values("Cache-Control"); r.status != 401 || len(got) != 1 || got[0] != "no-store" {
		t.Errorf("status %d, Cache-Control %q; want 401 with only no-store", r.status, got)
	}
}

func TestSessionAccessor(t *testing.T) {
	if s, ok := orymfa.Session(nil); ok || s != nil {
		t.Error("Session(nil) reported a session")
	}
	if s, ok := orymfa.Session((*fiber.DefaultCtx)(nil)); ok || s != nil {
		t.Error("Session of a nil *DefaultCtx reported a session")
	}
	want := orymfatest.NewSession(orymfatest.AAL2)
	app := fiber.New()
	app.Get("/none", func(c fiber.Ctx) error {
		if _, ok := orymfa.Session(c); ok {
			t.Error("unguarded route has a session")
		}
		c.Locals(orymfa.SessionKey, "not a session")
		if _, ok := orymfa.Session(c); ok {
			t.Error("a foreign value under SessionKey counted as a session")
		}
		return nil
	})
	// A handler unit test puts a session into c.Context(); Session finds it there.
	for path, put := range map[string]func(context.Context, *ory.Session) context.Context{
		"/kit":  orymfatest.ContextWithSession,
		"/core": core.ContextWithSession,
	} {
		app.Get(path, func(c fiber.Ctx) error {
			c.SetContext(put(c.Context(), want))
			if s, ok := orymfa.Session(c); !ok || s != want {
				t.Errorf("%s: Session = %v, %v; want the session from c.Context()", path, s, ok)
			}
			return nil
		})
	}
	for _, p := range []string{"/none", "/kit", "/core"} {
		do(t, app, p, nil)
	}
	// A released context has no session (and does not panic).
	var kept fiber.Ctx
	app.Get("/keep", func(c fiber.Ctx) error { kept = c; return nil })
	do(t, app, "/keep", nil)
	if _, ok := orymfa.Session(kept); ok {
		t.Error("a released context has a session")
	}
}

// TestSessionWhereFiberLooks: the session is where fiber v3's own middleware leave their
// values: in c.Locals, which fiber.ValueFromContext reads through c itself, and, with
// Config.PassLocalsToContext, in c.Context() under SessionKey too, as fiber.StoreInContext
// puts it. core.SessionFromContext reads c.Context() (fiber's Ctx.Value reads Locals, where
// the core's own key is not).
func TestSessionWhereFiberLooks(t *testing.T) {
	for _, pass := range []bool{false, true} {
		k := newKit(t, orymfa.Config{})
		app := fiber.New(fiber.Config{PassLocalsToContext: pass})
		app.Get("/r", orymfa.RequireAAL2(orymfa.WithVerifier(k.v)), func(c fiber.Ctx) error {
			s, _ := orymfa.Session(c)
			fromLocals, _ := fiber.ValueFromContext[*ory.Session](c, orymfa.SessionKey)
			fromCore, _ := core.SessionFromContext(c.Context())
			fromCtx, inCtx := fiber.ValueFromContext[*ory.Session](c.Context(), orymfa.SessionKey)
			if s == nil || s.Identity.Id != k.user["aal2"] || fromLocals != s || fromCore != s || inCtx != pass || (pass && fromCtx != s) {
				t.Errorf("PassLocalsToContext %v: Session %v, Locals %v, core %v, c.Context() %v %v", pass, s, fromLocals, fromCore, fromCtx, inCtx)
			}
			return c.SendStatus(http.StatusNoContent)
		})
		if r := do(t, app, "/r", http.Header{"X-Session-Token": {k.token["aal2"]}}); r.status != http.StatusNoContent {
			t.Errorf("PassLocalsToContext %v: status %d, body %s", pass, r.status, r.body)
		}
	}
}

// TestContextDeadlineBoundsWhoami: the whoami call runs with c.Context(), so a deadline an
// earlier middleware sets there (as fiber's timeout middleware does) ends the wait: 504, and
// the handler never runs.
func TestContextDeadlineBoundsWhoami(t *testing.T) {
	k := newKit(t, orymfa.Config{OnError: func(context.Context, error) {}})
	k.srv.SetFault(orymfatest.Slow(time.Minute))
	app := fiber.New()
	app.Get("/r", func(c fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.Context(), 20*time.Millisecond)
		defer cancel()
		c.SetContext(ctx)
		return c.Next()
	}, orymfa.RequireAAL2(orymfa.WithVerifier(k.v)), handle)
	start := time.Now()
	r := do(t, app, "/r", http.Header{"X-Session-Token": {k.token["aal2"]}})
	if r.status != http.StatusGatewayTimeout || strings.Contains(string(r.body), `"ran"`) {
		t.Errorf("status %d, body %s; want 504 without the handler", r.status, r.body)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v: the deadline did not end the wait", d)
	}
}

func TestMisconfigurationPanicsAtSetup(t *testing.T) {
	t.Setenv(core.EnvSDKURL, "")
	defer func() {
		r := recover()
		if err, ok := r.(error); !ok || !errors.Is(err, orymfa.ErrConfig) || !strings.Contains(err.Error(), core.EnvSDKURL) {
			t.Fatalf("recover() = %v, want a configuration error naming %s", r, core.EnvSDKURL)
		}
	}()
	orymfa.RequireAAL2()
}

// TestMiddleware: a guard built with core.NewGuard takes WithNext and WithDenyHandler; the
// guard's own settings passed to Middleware panic at setup instead of being ignored.
func TestMiddleware(t *testing.T) {
	k := newKit(t, orymfa.Config{})
	g, err := core.NewGuard(core.RequireAAL2, core.WithVerifier(k.v))
	if err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]orymfa.Option{
		"WithMaxAge":   orymfa.WithMaxAge(time.Minute),
		"WithVerifier": orymfa.WithVerifier(k.v),
		"WithMode":     orymfa.WithMode(orymfa.ModeAPI),
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Middleware(g, %s) did not panic", name)
				}
			}()
			orymfa.Middleware(g, opt)
		}()
	}

	app := fiber.New()
	app.Get("/r", orymfa.Middleware(g,
		orymfa.WithNext(func(c fiber.Ctx) bool { return c.Get("X-Skip") == "1" }),
		orymfa.WithDenyHandler(func(c fiber.Ctx, d *orymfa.Decision) error { return c.SendStatus(http.StatusTeapot) }),
	), handle)
	if r := do(t, app, "/r", http.Header{"X-Session-Token": {k.token["aal2"]}}); r.status != 200 || !strings.Contains(string(r.body), k.user["aal2"]) {
		t.Errorf("aal2: status %d, body %s", r.status, r.body)
	}
	if r := do(t, app, "/r", http.Header{"X-Session-Token": {k.token["aal1"]}}); r.status != http.StatusTeapot {
		t.Errorf("aal1: status %d, want the deny handler's 418", r.status)
	}
	if r := do(t, app, "/r", http.Header{"X-Skip": {"1"}}); r.status != 200 {
		t.Errorf("skipped: status %d, want 200", r.status)
	}
}

// blockingTransport holds each whoami call until release is closed, then reports the session
// token it is about to send.
type blockingTransport struct {
	release chan struct{}
	seen    chan string
}

func (b *blockingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	<-b.release
	b.seen <- r.Header.Get("X-Session-Token")
	return http.DefaultTransport.RoundTrip(r)
}

// TestCredentialOutlivesRequest: a request whose context is cancelled leaves while its whoami
// call goes on (the core shares it with other requests and caches its answer). fasthttp then
// reuses the request's buffers; the call must still send the original credential.
func TestCredentialOutlivesRequest(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	bt := &blockingTransport{release: make(chan struct{}), seen: make(chan string, 1)}
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: srv.URL}}
	cfg.HTTPClient = &http.Client{Transport: bt}
	v := orymfa.MustNew(orymfa.Config{SDKURL: srv.URL, APIClient: ory.NewAPIClient(cfg), Logger: slog.New(slog.DiscardHandler), OnError: func(context.Context, error) {}})

	app := fiber.New()
	app.Use(func(c fiber.Ctx) error {
		ctx, cancel := context.WithCancel(c.Context())
		cancel() // the client went away
		c.SetContext(ctx)
		return c.Next()
	})
	app.Get("/r", orymfa.RequireSession(orymfa.WithVerifier(v)), handle)
	h := app.Handler()

	var fc fasthttp.RequestCtx
	fc.Request.Header.SetMethod(http.MethodGet)
	fc.Request.SetRequestURI("/r")
	fc.Request.Header.Set("X-Session-Token", token)
	h(&fc)
	if fc.Response.StatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 for a cancelled request", fc.Response.StatusCode())
	}
	// Overwrite the header in place, as fasthttp does for the next request on this ctx.
	fc.Request.Header.Set("X-Session-Token", strings.Repeat("x", len(token)))
	close(bt.release)
	if got := <-bt.seen; got != token {
		t.Fatalf("whoami sent token %q, want %q: the credential aliases fasthttp's buffer", got, token)
	}
}

// TestDecisionOutlivesRequest: a deny handler may keep the decision (e.g. hand it to a logger
// goroutine); its strings must not change when fasthttp reuses the request's buffers.
func TestDecisionOutlivesRequest(t *testing.T) {
	k := newKit(t, orymfa.Config{})
	var kept []*orymfa.Decision
	app := fiber.New()
	app.Get("/*", orymfa.RequireSession(orymfa.WithVerifier(k.v), orymfa.WithDenyHandler(func(c fiber.Ctx, d *orymfa.Decision) error {
		kept = append(kept, d)
		return orymfa.WriteDecision(c, d)
	})), handle)
	h := app.Handler()

	var fc fasthttp.RequestCtx
	paths := []string{"/aaaa?q=1", "/bbbb?q=2", "/cccc?q=3"}
	for _, p := range paths {
		fc.Request.Reset()
		fc.Response.Reset()
		fc.Request.Header.SetMethod(http.MethodGet)
		fc.Request.SetRequestURI(p)
		fc.Request.Header.SetHost("app.example")
		fc.Request.Header.Set("Accept", "text/html")
		h(&fc)
	}
	for i, d := range kept {
		want := "http://app.example" + paths[i]
		if d.ReturnTo != want {
			t.Errorf("decision %d: ReturnTo = %q, want %q", i, d.ReturnTo, want)
		}
		if loc := d.Header.Get("Location"); loc != d.RedirectTo || !strings.HasSuffix(loc, "return_to="+url.QueryEscape(want)) {
			t.Errorf("decision %d: Location %q, RedirectTo %q", i, loc, d.RedirectTo)
		}
	}
}
