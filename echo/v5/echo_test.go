package orymfa_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"

	orymfa "github.com/orymfa/orymfa/echo/v5"
	"github.com/orymfa/orymfa/orymfatest"
)

// What the adapters share (credentials, stacked guards, the accessors, c.Get and the
// request's context, denials through echo's HTTPErrorHandler as errors with the decision, a
// deny handler that bypasses it, Skipper, a net/http guard inside or around echo, setup
// errors, many users at once) runs in the conformance table against real Kratos and the kit
// (internal/conformance), for echo v4 and v5 alike. Here is what only echo v5 has: the error
// handlers it ships, and DeniedError as they read it (HTTPStatusCoder, json.Marshaler,
// through %w).

// kit is the fake Ory, a verifier for it with the cache off (every whoami call shows in
// srv.Calls()) and an aal2 user's session token.
func kit(t *testing.T) (*orymfatest.Server, *orymfa.Verifier, string) {
	t.Helper()
	srv := orymfatest.NewServer(t)
	v := orymfa.MustNew(orymfa.Config{SDKURL: srv.URL, Cache: orymfa.CacheConfig{Disabled: true}, Logger: slog.New(slog.DiscardHandler)})
	return srv, v, srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
}

// getR answers GET /r on h, with a session token when token is not empty.
func getR(h http.Handler, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("X-Session-Token", token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// The denial works with echo v5's error flows even when an app middleware wraps the error
// (echo finds the HTTPStatusCoder through %w): the default handler writes Ory's JSON shape,
// the RFC 9457 ProblemDetailsHTTPErrorHandler a problem document, both with the decision's
// status and headers.
func TestEchoErrorHandlers(t *testing.T) {
	srv, v, _ := kit(t)
	tok := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	for name, tt := range map[string]struct {
		handler     echo.HTTPErrorHandler
		contentType string
		body        string
	}{
		"DefaultHTTPErrorHandler":        {echo.DefaultHTTPErrorHandler(false), "application/json", `"id":"session_aal2_required"`},
		"ProblemDetailsHTTPErrorHandler": {echo.ProblemDetailsHTTPErrorHandler(false), "application/problem+json", `"status":403`},
	} {
		t.Run(name, func(t *testing.T) {
			e := echo.New()
			e.HTTPErrorHandler = tt.handler
			e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c *echo.Context) error {
					if err := next(c); err != nil {
						return fmt.Errorf("GET %s: %w", c.Path(), err)
					}
					return nil
				}
			})
			ran := 0
			e.GET("/r", func(c *echo.Context) error { ran++; return nil }, orymfa.RequireAAL2(orymfa.WithVerifier(v)))
			w := getR(e, tok)
			if w.Code != http.StatusForbidden || ran != 0 {
				t.Fatalf("status %d, handler runs %d", w.Code, ran)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) || !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("Content-Type %q, body %s", ct, w.Body)
			}
			if wa := w.Header().Get("WWW-Authenticate"); !strings.Contains(wa, `acr_values="aal2"`) {
				t.Errorf("WWW-Authenticate %q", wa)
			}
		})
	}
}

// A DeniedError prints its cause, never the JSON body; one without a decision (an app's own)
// is still an error that echo can render.
func TestDeniedError(t *testing.T) {
	d := &orymfa.Decision{Status: 403, Body: []byte(`{"error":{}}`), Err: orymfa.ErrAAL2Required}
	if err := (&orymfa.DeniedError{Decision: d}); strings.Contains(err.Error(), "{") || echo.StatusCode(err) != 403 || !errors.Is(err, orymfa.ErrAAL2Required) {
		t.Errorf("Error %q, status %d, errors.Is ErrAAL2Required %v", err, echo.StatusCode(err), errors.Is(err, orymfa.ErrAAL2Required))
	}
	var err error = &orymfa.DeniedError{}
	if echo.StatusCode(err) != 0 || err.Error() == "" || errors.Unwrap(err) != nil {
		t.Errorf("status %d, Error %q, Unwrap %v", echo.StatusCode(err), err, errors.Unwrap(err))
	}
	if b, jerr := json.Marshal(err); jerr != nil || string(b) != "{}" {
		t.Errorf("json: %s, %v", b, jerr)
	}
}
