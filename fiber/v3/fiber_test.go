package orymfa_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/fiber/v3"
	"github.com/orymfa/orymfa/orymfatest"
)

// What the adapters share (credentials, stacked guards, the accessors and the request's
// context, denials, WithNext, the ErrorHandler, header replacement, a deadline on
// c.Context(), Ory failing, setup errors, fasthttp's buffer reuse) runs in the conformance
// table against real Kratos and the kit (internal/conformance). Here is what only fiber v3
// has: c.Locals and c.Context() where fiber's middleware look, a c.Next() in a deny handler
// that returns nil, and Session's nil cases.

// fiberKit is the fake Ory, a verifier for it with the cache off (every whoami call shows in
// srv.Calls()) and an aal2 user's session token.
func fiberKit(t *testing.T) (*orymfatest.Server, *orymfa.Verifier, string) {
	t.Helper()
	srv := orymfatest.NewServer(t)
	v := orymfa.MustNew(orymfa.Config{SDKURL: srv.URL, Cache: orymfa.CacheConfig{Disabled: true},
		Logger: slog.New(slog.DiscardHandler), OnError: func(context.Context, error) {}})
	return srv, v, srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
}

// get serves GET path with the headers (name, value, name, value, …) and returns the status
// and the body.
func get(t *testing.T, app *fiber.App, path string, header ...string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := app.Test(req, fiber.TestConfig{})
	if err != nil {
		t.Fatalf("app.Test: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// A c.Next() in a deny handler runs nothing and returns nil, so the deny handler goes on to
// answer.
func TestDenyHandlerNext(t *testing.T) {
	_, v, _ := fiberKit(t)
	ran := 0
	app := fiber.New()
	app.Get("/r", orymfa.RequireAAL2(orymfa.WithVerifier(v), orymfa.WithDenyHandler(func(c fiber.Ctx, d *orymfa.Decision) error {
		if err := c.Next(); err != nil {
			return err
		}
		return orymfa.WriteDecision(c, d)
	})), func(c fiber.Ctx) error { ran++; return nil })
	if status, body := get(t, app, "/r", "Accept", "application/json"); status != 401 || !strings.Contains(body, "session_inactive") || ran != 0 {
		t.Errorf("c.Next() in a deny handler: status %d, body %s, the route ran %d times", status, body, ran)
	}
}

// Session finds the guard's session in c.Locals under SessionKey (where fiber.ValueFromContext
// reads through c) and, with Config.PassLocalsToContext, in c.Context() under SessionKey too,
// as fiber.StoreInContext puts it; core.SessionFromContext reads c.Context() (fiber's
// Ctx.Value reads Locals, where the core's own key is not).
func TestSessionWhereFiberLooks(t *testing.T) {
	for _, pass := range []bool{false, true} {
		srv, v, token := fiberKit(t)
		id := srv.Session(token).Identity.Id
		app := fiber.New(fiber.Config{PassLocalsToContext: pass})
		app.Get("/r", orymfa.RequireAAL2(orymfa.WithVerifier(v)), func(c fiber.Ctx) error {
			s, _ := orymfa.Session(c)
			fromLocals, _ := fiber.ValueFromContext[*ory.Session](c, orymfa.SessionKey)
			fromCore, _ := core.SessionFromContext(c.Context())
			fromCtx, inCtx := fiber.ValueFromContext[*ory.Session](c.Context(), orymfa.SessionKey)
			if s == nil || s.Identity.Id != id || fromLocals != s || fromCore != s || inCtx != pass || (pass && fromCtx != s) {
				t.Errorf("PassLocalsToContext %v: Session %v, Locals %v, core %v, c.Context() %v %v", pass, s, fromLocals, fromCore, fromCtx, inCtx)
			}
			return c.SendStatus(http.StatusNoContent)
		})
		if status, body := get(t, app, "/r", "X-Session-Token", token); status != http.StatusNoContent {
			t.Errorf("PassLocalsToContext %v: status %d, body %s", pass, status, body)
		}
	}
}

// Session never panics: not on a nil Ctx or *DefaultCtx, a foreign value under SessionKey,
// or a context fiber has released.
func TestSessionNeverPanics(t *testing.T) {
	if s, ok := orymfa.Session(nil); ok || s != nil {
		t.Error("Session(nil) reported a session")
	}
	if s, ok := orymfa.Session((*fiber.DefaultCtx)(nil)); ok || s != nil {
		t.Error("Session of a nil *DefaultCtx reported a session")
	}
	var kept fiber.Ctx
	app := fiber.New()
	app.Get("/r", func(c fiber.Ctx) error {
		c.Locals(orymfa.SessionKey, "not a session")
		if _, ok := orymfa.Session(c); ok {
			t.Error("a foreign value under SessionKey counted as a session")
		}
		kept = c
		return nil
	})
	get(t, app, "/r")
	if _, ok := orymfa.Session(kept); ok {
		t.Error("a released context has a session")
	}
}
