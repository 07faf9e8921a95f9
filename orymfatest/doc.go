// Package orymfatest is a fake Ory for testing handlers protected by orymfa without running
// Ory, as net/http/httptest is for HTTP servers. It answers whoami as Ory Kratos v1.3.1 does,
// measured, not guessed: the same statuses, error ids, JSON bodies and headers (a test in this
// package compares it with a real Kratos side by side).
//
// A complete test of a handler that needs a second factor:
//
//	package app_test
//
//	import (
//		"net/http"
//		"net/http/httptest"
//		"testing"
//
//		"github.com/orymfa/orymfa/core"
//		orymfa "github.com/orymfa/orymfa/nethttp"
//		"github.com/orymfa/orymfa/orymfatest"
//	)
//
//	func TestTransferNeedsSecondFactor(t *testing.T) {
//		ory := orymfatest.NewServer(t)
//		v, err := core.New(core.Config{SDKURL: ory.URL})
//		if err != nil {
//			t.Fatal(err)
//		}
//		app := orymfa.RequireAAL2(orymfa.WithVerifier(v))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//			s, _ := orymfa.SessionFromContext(r.Context())
//			w.Write([]byte("transferred for " + s.Identity.Id))
//		}))
//
//		alice := ory.NewIdentity(orymfatest.WithSecondFactor())
//		token := ory.SignIn(alice, orymfatest.AAL1) // password only
//
//		req := httptest.NewRequest(http.MethodPost, "/transfer", nil)
//		req.Header.Set("X-Session-Token", token)
//		rec := httptest.NewRecorder()
//		app.ServeHTTP(rec, req)
//		if rec.Code != http.StatusForbidden {
//			t.Fatalf("aal1: got %d, want 403", rec.Code)
//		}
//
//		ory.StepUp(token) // TOTP proven; the token stays the same
//		rec = httptest.NewRecorder()
//		app.ServeHTTP(rec, req)
//		if rec.Code != http.StatusOK || rec.Body.String() != "transferred for "+alice.ID {
//			t.Fatalf("aal2: got %d %q", rec.Code, rec.Body)
//		}
//	}
//
// # What the server does
//
// [NewServer] starts the fake on loopback and closes it when the test ends. Its URL is what
// ORY_SDK_URL or core.Config.SDKURL would be. Whoami (GET /sessions/whoami) reads the session
// token from X-Session-Token, the ory_kratos_session cookie or "Authorization: Bearer", in
// Kratos's order, and answers:
//   - 401 without a valid credential, or for a revoked or expired session, with Kratos's body
//     (no error id);
//   - on a Strict project (the default, as in Ory), 403 session_aal2_required for an aal1
//     session of an identity that has a second factor, with redirect_browser_to pointing at
//     the aal2 login and no Ory-Error-Id header, as v1.3.1 does;
//   - 200 with the session otherwise: aal1 for an identity without a second factor, aal2 after
//     a step-up, and everything on a Lax project ([Server.SetLax]).
//
// Sessions carry what Kratos's do: id, active, expires_at, authenticated_at, issued_at,
// authenticator_assurance_level, authentication_methods (password aal1, totp aal2, each with
// completed_at), devices, and the identity with its traits.
//
// Identities come from [Server.NewIdentity] ([WithSecondFactor], [WithTraits]); sessions from
// [Server.SignIn]. [Server.StepUp] proves the second factor on the same token (or enrolls
// one, for an identity that had none), [Server.Revoke] and [Server.Expire] end a session, and
// [Server.Backdate] and [Server.SetFactorTimes] move its clock, for WithMaxAge tests.
//
// The middleware caches verified sessions (10 s by default): a test that revokes a session and
// expects the next request to fail should turn the cache off with
// core.CacheConfig{Disabled: true}. [Server.Calls] counts whoami requests, so a test can also
// assert the opposite: that the cache spared Ory a call.
//
// # Faults
//
// [Server.SetFault] makes whoami fail as Ory can: [Down] (no answer at all), [Slow], [Status]
// (an error status) and [Malformed] (a truncated body). The middleware must then fail closed,
// with a 5xx and without running the handler. [Server.Respond] answers whoami with any handler.
//
// # Browsers
//
// The middleware redirects browsers to Ory's /self-service/login/browser (sign in, step up,
// refresh) and /self-service/settings/browser (set up a second factor). The server answers
// both with a small page that shows the query and links back to return_to, and
// [Server.Flows] lists the visits, so a test can follow the redirect and check where it led.
//
// # Handlers alone
//
// A handler unit test needs no server: [NewSession] builds the session the middleware would
// hand over, and [WithSession] (or [ContextWithSession]) puts it where every orymfa adapter's
// accessor finds it (net/http SessionFromContext; gin, echo and fiber fall back to the
// request's context). Call the handler itself with that request: a guard does not trust a
// session it did not verify, so tests of the middleware and handler together use [Server].
//
// # Fidelity
//
// What the kit answers was captured from Ory Kratos v1.3.1 (public API, dsn memory, identity
// schema with an email trait, no verification or recovery, so identities carry no
// verifiable_addresses or recovery_addresses, which Kratos then omits). Newer Kratos versions
// and Ory Network add the Ory-Error-Id header; [Server.Respond] can play them. The kit does
// not run self-service flows: StepUp stands for a whole step-up login or enrollment, and the
// browser pages only record the visit.
//
// The server's methods that fail the test on misuse (an unknown token, an identity of another
// server) call t.Fatalf: call them from the test's goroutine.
package orymfatest
