package orymfa_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	ory "github.com/ory/client-go"
	"github.com/valyala/fasthttp"

	orymfa "github.com/orymfa/orymfa/fiber"
	"github.com/orymfa/orymfa/orymfatest"
)

// What the adapters share (credentials, stacked guards, the accessors, c.Locals and the
// user context, denials, WithNext, the ErrorHandler, header replacement, Ory failing, setup
// errors, fasthttp's buffer reuse) runs in the conformance table against real Kratos and the
// kit (internal/conformance). Here is what only fiber v2 has: a c.Next() in a deny handler
// answered as at the end of a chain, and Session's nil cases.

// A c.Next() in a deny handler runs nothing: it returns fiber's end-of-chain error (404),
// which the deny handler may return to the ErrorHandler.
func TestDenyHandlerNext(t *testing.T) {
	v := orymfa.MustNew(orymfa.Config{SDKURL: orymfatest.NewServer(t).URL, Logger: slog.New(slog.DiscardHandler)})
	var got error
	ran := 0
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		got = err
		return c.SendStatus(http.StatusTeapot)
	}})
	app.Get("/r", orymfa.RequireAAL2(orymfa.WithVerifier(v), orymfa.WithDenyHandler(func(c *fiber.Ctx, d *orymfa.Decision) error {
		return c.Next()
	})), func(c *fiber.Ctx) error { ran++; return nil })
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/r", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if fe := (*fiber.Error)(nil); resp.StatusCode != http.StatusTeapot || !errors.As(got, &fe) || fe.Code != http.StatusNotFound || ran != 0 {
		t.Errorf("c.Next() in a deny handler: status %d, ErrorHandler got %v, the route ran %d times", resp.StatusCode, got, ran)
	}
}

// Session checks the type of what c.Locals holds under SessionKey, and never panics.
func TestSessionNeverPanics(t *testing.T) {
	if s, ok := orymfa.Session(nil); ok || s != nil {
		t.Error("Session(nil) reported a session")
	}
	var fc fasthttp.RequestCtx
	app := fiber.New()
	c := app.AcquireCtx(&fc)
	defer app.ReleaseCtx(c)
	for _, v := range []any{"not a session", (*ory.Session)(nil)} {
		c.Locals(orymfa.SessionKey, v)
		if _, ok := orymfa.Session(c); ok {
			t.Errorf("%#v under SessionKey counted as a session", v)
		}
	}
}
