package fiber_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	gofiber "github.com/gofiber/fiber/v2"
	ory "github.com/ory/client-go"
	"github.com/valyala/fasthttp"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/fiber"
	"github.com/orymfa/orymfa/internal/fakeory"
)

// newFake starts the fake whoami server and a verifier for it. The cache is disabled so that
// every whoami call the middleware makes shows in fake.Calls().
func newFake(t *testing.T) (*fakeory.Server, *core.Verifier) {
	t.Helper()
	fake := fakeory.New()
	t.Cleanup(fake.Close)
	return fake, core.MustNew(core.Config{SDKURL: fake.URL, Cache: core.CacheConfig{Disabled: true}})
}

// reply is what the test handler answers: what it saw of the session.
type reply struct {
	Ran         bool   `json:"ran"`
	IdentityID  string `json:"identity_id"`
	AAL         string `json:"aal"`
	SameContext bool   `json:"same_context"` // the accessor and c.UserContext() hold the same session
}

func handle(c *gofiber.Ctx) error {
	r := reply{Ran: true}
	if s, ok := fiber.Session(c); ok {
		r.IdentityID = s.Identity.Id
		r.AAL = string(s.GetAuthenticatorAssuranceLevel())
		fromCtx, _ := core.SessionFromContext(c.UserContext())
		r.SameContext = fromCtx == s
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

func do(t *testing.T, app *gofiber.App, path string, header http.Header) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://example.com"+path, nil)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := app.Test(req, -1)
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

// TestFiberSpecifics covers what only the fiber adapter does: fasthttp's several Cookie
// headers joined natively, X-Forwarded-* ignored although fiber's own Hostname would trust
// them, and Next (alone and with a deny handler, in both orders). Everything the adapters share
// is in the conformance table (conformance_test.go).
func TestFiberSpecifics(t *testing.T) {
	teapot := fiber.WithDenyHandler(func(c *gofiber.Ctx, d *core.Decision) error {
		return c.Status(http.StatusTeapot).JSON(map[string]string{"outcome": d.Outcome.String()})
	})
	skipHeader := fiber.WithNext(func(c *gofiber.Ctx) bool { return c.Get("X-Skip") == "1" })
	tests := []struct {
		name     string
		aal2     bool
		opts     []fiber.Option
		header   http.Header
		fake500  bool
		status   int
		ran      bool
		aal      string // the handler saw a session of this aal
		errorID  string // Ory error id in the JSON body
		location string // prefix of Location after the fake's URL
		body     string // substring of the body
		calls    int64  // whoami calls
	}{
		{name: "two cookie headers", header: http.Header{"Cookie": {"app=1", fakeory.CookieName + "=" + fakeory.CookieAAL1}},
			status: 200, ran: true, aal: "aal1", calls: 1},
		{name: "forwarded headers untrusted", header: http.Header{"Accept": {"text/html"}, "X-Forwarded-Host": {"evil.example"}, "X-Forwarded-Proto": {"https"}},
			status: 303, location: "/self-service/login/browser?return_to=http%3A%2F%2Fexample.com%2Fr%3Fq%3D1"},
		{name: "next skips", aal2: true, opts: []fiber.Option{skipHeader}, header: http.Header{"X-Skip": {"1"}}, status: 200, ran: true},
		{name: "next does not skip", aal2: true, opts: []fiber.Option{skipHeader}, header: http.Header{"X-Skip": {"0"}}, status: 401, errorID: "session_inactive"},
		{name: "next and deny handler together", opts: []fiber.Option{skipHeader, teapot}, status: http.StatusTeapot, body: `"outcome":"login"`},
		{name: "next and deny handler together, skipped", opts: []fiber.Option{teapot, skipHeader}, header: http.Header{"X-Skip": {"1"}}, status: 200, ran: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, v := newFake(t)
			if tt.fake500 {
				fake.Respond(func(w http.ResponseWriter, _ *http.Request) { fakeory.WriteError(w, 500, "") })
			}
			opts := append([]fiber.Option{fiber.WithVerifier(v)}, tt.opts...)
			guard := fiber.RequireSession(opts...)
			if tt.aal2 {
				guard = fiber.RequireAAL2(opts...)
			}
			app := gofiber.New()
			app.Get("/r", guard, handle)

			r := do(t, app, "/r?q=1", tt.header)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
			}
			var got reply
			if tt.ran {
				if err := json.Unmarshal(r.body, &got); err != nil || !got.Ran {
					t.Fatalf("handler did not run: %s", r.body)
				}
				if got.AAL != tt.aal {
					t.Errorf("handler saw aal %q, want %q", got.AAL, tt.aal)
				}
				if tt.aal != "" && (got.IdentityID != fakeory.IdentityID || !got.SameContext) {
					t.Errorf("handler saw %+v, want the session in the accessor and c.UserContext()", got)
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
			if tt.location != "" {
				if loc := r.header.Get("Location"); loc != fake.URL+tt.location {
					t.Errorf("Location = %q, want %q", loc, fake.URL+tt.location)
				}
			}
			if tt.body != "" && !strings.Contains(string(r.body), tt.body) {
				t.Errorf("body %s, want it to contain %s", r.body, tt.body)
			}
			if n := fake.Calls(); n != tt.calls {
				t.Errorf("whoami calls = %d, want %d", n, tt.calls)
			}
		})
	}
}

// TestRawHeaderNames: with fasthttp's name normalizing off, header names keep the client's case.
func TestRawHeaderNames(t *testing.T) {
	_, v := newFake(t)
	app := gofiber.New(gofiber.Config{DisableHeaderNormalizing: true})
	app.Get("/r", fiber.RequireAAL2(fiber.WithVerifier(v)), handle)
	req := httptest.NewRequest(http.MethodGet, "http://example.com/r", nil)
	req.Header["x-session-token"] = []string{fakeory.TokenAAL2} // written as is, not canonical
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
}

func TestSessionAccessorNeverPanics(t *testing.T) {
	if s, ok := fiber.Session(nil); ok || s != nil {
		t.Error("Session(nil) reported a session")
	}
	app := gofiber.New()
	app.Get("/", func(c *gofiber.Ctx) error {
		if _, ok := fiber.Session(c); ok {
			t.Error("unguarded route has a session")
		}
		c.Locals(fiber.SessionKey, "not a session")
		if _, ok := fiber.Session(c); ok {
			t.Error("a foreign value under SessionKey counted as a session")
		}
		return nil
	})
	do(t, app, "/", nil)
}

func TestMisconfigurationPanicsAtSetup(t *testing.T) {
	t.Setenv(core.EnvSDKURL, "")
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(error).Error(), core.EnvSDKURL) {
			t.Fatalf("recover() = %v, want a panic naming %s", r, core.EnvSDKURL)
		}
	}()
	fiber.RequireAAL2()
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
	fake := fakeory.New()
	t.Cleanup(fake.Close)
	bt := &blockingTransport{release: make(chan struct{}), seen: make(chan string, 1)}
	client := newAPIClient(fake.URL, bt)
	v := core.MustNew(core.Config{SDKURL: fake.URL, APIClient: client})

	app := gofiber.New()
	app.Use(func(c *gofiber.Ctx) error {
		ctx, cancel := context.WithCancel(c.UserContext())
		cancel() // the client went away
		c.SetUserContext(ctx)
		return c.Next()
	})
	app.Get("/r", fiber.RequireSession(fiber.WithVerifier(v)), handle)
	h := app.Handler()

	var fc fasthttp.RequestCtx
	fc.Request.Header.SetMethod(http.MethodGet)
	fc.Request.SetRequestURI("/r")
	fc.Request.Header.Set("X-Session-Token", fakeory.TokenAAL2)
	h(&fc)
	if fc.Response.StatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 for a cancelled request", fc.Response.StatusCode())
	}
	// Overwrite the header in place, as fasthttp does for the next request on this ctx.
	fc.Request.Header.Set("X-Session-Token", strings.Repeat("x", len(fakeory.TokenAAL2)))
	close(bt.release)
	if got := <-bt.seen; got != fakeory.TokenAAL2 {
		t.Fatalf("whoami sent token %q, want %q: the credential aliases fasthttp's buffer", got, fakeory.TokenAAL2)
	}
}

// TestDecisionOutlivesRequest: a deny handler may keep the decision (e.g. hand it to a logger
// goroutine); its strings must not change when fasthttp reuses the request's buffers.
func TestDecisionOutlivesRequest(t *testing.T) {
	_, v := newFake(t)
	var kept []*core.Decision
	app := gofiber.New()
	app.Get("/*", fiber.RequireSession(fiber.WithVerifier(v), fiber.WithDenyHandler(func(c *gofiber.Ctx, d *core.Decision) error {
		kept = append(kept, d)
		return fiber.WriteDecision(c, d)
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

func newAPIClient(sdkURL string, rt http.RoundTripper) *ory.APIClient {
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: sdkURL}}
	cfg.HTTPClient = &http.Client{Transport: rt}
	return ory.NewAPIClient(cfg)
}
