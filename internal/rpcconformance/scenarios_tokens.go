package rpcconformance

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/kratostest"
	"github.com/orymfa/orymfa/orymfatest"
)

const challengeInvalidToken = `Bearer error="invalid_token", error_description="The session JWT is invalid or expired"`

// Tokenized sessions through gRPC and Connect: a JWT in "authorization: Bearer" is decided by
// the interceptor's verifier alone, with the same codes and reasons as a session token.
func init() {
	scenarios = append(scenarios,
		scenario{name: "JWT: an aal2 token passes every rule without a whoami call", kind: codeMFA, run: func(t *testing.T, e *env) {
			u := e.ory.signUp(t)
			e.ory.stepUp(t, u, u.token)
			id := e.ory.session(t, u.token).Identity.ID
			jwt := e.mint(t, u.token)
			e.serveTokens(t)
			for _, m := range []string{Session, AAL2, Fresh, StackedAAL2, StackedFresh} {
				e.allowed(e.unary(m, Call{Bearer: jwt}), 1, id, "aal2")
			}
			e.allowed(e.stream(Call{Bearer: jwt}), 2, id, "aal2")
			e.calls(0, "JWTs")
		}},
		scenario{name: "JWT: an aal1 token is sent to set up a second factor; stale, expired and forged ones are refused", kind: totp, run: func(t *testing.T, e *env) {
			u := e.ory.signUp(t)
			id := e.ory.session(t, u.token).Identity.ID
			jwt := e.mint(t, u.token)
			e.serveTokens(t)
			e.allowed(e.unary(Session, Call{Bearer: jwt}), 1, id, "aal1")
			e.denied(e.unary(AAL2, Call{Bearer: jwt}), codes.PermissionDenied, "SESSION_AAL2_REQUIRED", flowURL(e.ory.url(), "settings", ""), challengeAAL2, true)

			e.ory.enroll(t, u, u.token)
			jwt = e.mint(t, u.token)
			e.allowed(e.unary(AAL2, Call{Bearer: jwt}), 1, id, "aal2")
			e.freezeClock(time.Now().Add(MaxAge + time.Minute))
			e.denied(e.unary(Fresh, Call{Bearer: jwt}), codes.PermissionDenied, "SESSION_REFRESH_REQUIRED", flowURL(e.ory.url(), "login", "refresh=true&aal=aal2"), challengeRefresh, false)
			e.freezeClock(time.Now().Add(kratostest.TokenTTL + time.Minute))
			e.denied(e.unary(Session, Call{Bearer: jwt}), codes.Unauthenticated, "SESSION_INACTIVE", flowURL(e.ory.url(), "login", ""), challengeInvalidToken, false)
			e.freezeClock(time.Time{})

			parts := strings.Split(jwt, ".")
			none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
			resigned := parts[0] + "." + parts[1] + "." + strings.Split(e.mint(t, u.token), ".")[2]
			for _, bad := range []string{none, resigned} {
				e.denied(e.unary(Session, Call{Bearer: bad}), codes.Unauthenticated, "SESSION_INACTIVE", flowURL(e.ory.url(), "login", ""), challengeInvalidToken, false)
			}
			e.calls(0, "JWTs")
		}},
	)
}

// mint asks the scenario's Ory for a JWT of token's session (whoami?tokenize_as=orymfa).
func (e *env) mint(t *testing.T, token string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, e.ory.url()+"/sessions/whoami?tokenize_as="+orymfatest.TokenTemplate, nil)
	must(t, err)
	req.Header.Set("X-Session-Token", token)
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	defer res.Body.Close()
	var s struct {
		Tokenized string `json:"tokenized"`
	}
	_ = json.NewDecoder(res.Body).Decode(&s)
	if res.StatusCode != http.StatusOK || s.Tokenized == "" {
		t.Fatalf("whoami?tokenize_as: %d %q", res.StatusCode, s.Tokenized)
	}
	return s.Tokenized
}

// serveTokens replaces the scenario's app with one whose verifier is in JWT mode for the
// scenario's Ory, on the scenario's clock.
func (e *env) serveTokens(t *testing.T) {
	t.Helper()
	var tc core.TokenConfig
	switch o := e.ory.(type) {
	case kitBackend:
		tc = o.srv.TokenConfig()
	case kratosBackend:
		tc = o.p.TokenConfig()
	}
	v, wh := e.verifier(e.ory.url(), core.Config{Tokens: tc})
	e.client = e.transport.Serve(t, NewApp(v, v, &e.ran))
	e.whoami = wh
}
