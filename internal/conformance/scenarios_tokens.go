package conformance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/kratostest"
	"github.com/orymfa/orymfa/orymfatest"
)

// Tokenized sessions: the scenario's Ory mints a JWT (whoami?tokenize_as=orymfa, with
// core.ClaimsMapper) and the app, a verifier in JWT mode, decides on it alone: the same
// policy, the same answers in Ory's shape, and never a whoami call for a JWT.
func init() {
	if kratostest.TokenTTL != orymfatest.TokenTTL || kratostest.TokenTemplate != orymfatest.TokenTemplate {
		panic("conformance: the kit's tokenizer template differs from the Kratos test bed's")
	}
	scenarios = append(scenarios,
		scenario{name: "JWT: an aal2 token passes every guard without a whoami call", kind: codeMFA, run: func(t *testing.T, e *env) {
			u := e.ory.signUp(t)
			e.ory.stepUp(t, u, u.token)
			id := e.ory.session(t, u.token).Identity.ID
			jwt := e.mint(t, u.token)
			e.serveTokens(t, nil)
			for _, path := range []string{"/session", "/aal2", "/fresh", "/group/aal2", "/group/fresh", "/api/aal2", "/browser/session"} {
				e.allowed(e.do(request{path: path, bearer: jwt}), id, "aal2")
			}
			e.calls(0, "JWTs")
			// The same app still takes session tokens to whoami.
			e.allowed(e.do(request{path: "/aal2", token: u.token}), id, "aal2")
			e.calls(1, "a session token")
		}},
		scenario{name: "JWT: Ory mints none for an aal1 session whose user has a second factor", kind: codeMFA, run: func(t *testing.T, e *env) {
			u := e.ory.signUp(t)
			if status, jwt := e.tryMint(t, u.token); status != http.StatusForbidden || jwt != "" {
				t.Fatalf("whoami?tokenize_as: %d %q, want 403 and no token", status, jwt)
			}
		}},
		scenario{name: "JWT: an aal1 token is sent to set up a second factor, a new token after it passes", kind: totp, run: func(t *testing.T, e *env) {
			u := e.ory.signUp(t)
			id := e.ory.session(t, u.token).Identity.ID
			jwt := e.mint(t, u.token)
			e.serveTokens(t, nil)
			e.allowed(e.do(request{path: "/session", bearer: jwt}), id, "aal1")
			for _, browser := range []bool{false, true} {
				r := e.do(request{path: "/aal2", bearer: jwt, browser: browser}) // a token is an API's: JSON
				e.oryError(r, 403, "session_aal2_required", e.loginURL("settings", "", "/aal2"))
				if r.oryErr.Error.Details["setup_second_factor"] != true || r.header.Get("WWW-Authenticate") != challengeAAL2 {
					t.Fatalf("details %v, challenge %q", r.oryErr.Error.Details, r.header.Get("WWW-Authenticate"))
				}
			}
			e.ory.enroll(t, u, u.token)
			// The session is aal2 now; the token still says what it said when minted.
			e.oryError(e.do(request{path: "/aal2", bearer: jwt}), 403, "session_aal2_required", e.loginURL("settings", "", "/aal2"))
			e.allowed(e.do(request{path: "/aal2", bearer: e.mint(t, u.token)}), id, "aal2")
			e.calls(0, "JWTs")
		}},
		scenario{name: "JWT: a token whose second factor is older than WithMaxAge must refresh", kind: codeMFA, run: func(t *testing.T, e *env) {
			u := e.ory.signUp(t)
			e.ory.stepUp(t, u, u.token)
			id := e.ory.session(t, u.token).Identity.ID
			jwt := e.mint(t, u.token)
			e.serveTokens(t, nil)
			e.freezeClock(time.Now().Add(maxAge + time.Minute)) // the token itself is still valid
			r := e.do(request{path: "/fresh", bearer: jwt})
			e.oryError(r, 403, "session_refresh_required", e.loginURL("login", "refresh=true&aal=aal2", "/fresh"))
			if got := r.header.Get("WWW-Authenticate"); got != challengeRefresh {
				t.Fatalf("WWW-Authenticate = %q", got)
			}
			e.allowed(e.do(request{path: "/aal2", bearer: jwt}), id, "aal2")
			e.calls(0, "JWTs")
		}},
		scenario{name: "JWT: tampered, expired, foreign, over-long, alg none, HMAC and unknown-kid tokens get 401 invalid_token", kind: totp, run: func(t *testing.T, e *env) {
			u := e.ory.signUp(t)
			e.ory.enroll(t, u, u.token)
			jwt := e.mint(t, u.token)
			tc := e.tokenConfig()
			parts := strings.Split(jwt, ".")
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			must(t, err)
			b64 := base64.RawURLEncoding.EncodeToString
			hs256 := func(secret []byte) string {
				signed := b64([]byte(`{"alg":"HS256","kid":"`+kid(t, jwt)+`","typ":"JWT"}`)) + "." + parts[1]
				m := hmac.New(sha256.New, secret)
				m.Write([]byte(signed))
				return signed + "." + b64(m.Sum(nil))
			}
			e.serveTokens(t, nil)
			for what, bad := range map[string]string{
				"tampered claims":             parts[0] + "." + b64([]byte(strings.Replace(string(payload), `"acr":"aal2"`, `"acr":"aal3"`, 1))) + "." + parts[2],
				"another token's signature":   parts[0] + "." + parts[1] + "." + strings.Split(e.mint(t, u.token), ".")[2],
				"alg none":                    b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
				"HS256 keyed with the public": hs256(tc.JWKS),
			} {
				e.invalidToken(t, e.do(request{path: "/session", bearer: bad}), "/session", what)
			}
			e.freezeClock(time.Now().Add(kratostest.TokenTTL + time.Minute))
			e.invalidToken(t, e.do(request{path: "/session", bearer: jwt}), "/session", "expired")
			e.freezeClock(time.Time{})
			e.allowed(e.do(request{path: "/session", bearer: jwt}), e.ory.session(t, u.token).Identity.ID, "aal2")

			other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			must(t, err)
			otherSet, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &other.PublicKey, KeyID: "another-key", Algorithm: "ES256", Use: "sig"}}})
			must(t, err)
			for what, edit := range map[string]func(*core.TokenConfig){
				"for another audience":      func(c *core.TokenConfig) { c.Audience = "another-app" },
				"from another issuer":       func(c *core.TokenConfig) { c.Issuer = "https://issuer.example" },
				"living longer than MaxTTL": func(c *core.TokenConfig) { c.MaxTTL = time.Minute },
				"signed by an unknown kid":  func(c *core.TokenConfig) { c.JWKS = otherSet },
			} {
				e.serveTokens(t, edit)
				e.invalidToken(t, e.do(request{path: "/aal2", bearer: jwt}), "/aal2", what)
			}
		}},
	)
}

// tokenConfig is the public key set and issuer of the scenario's Ory.
func (e *env) tokenConfig() core.TokenConfig {
	switch o := e.ory.(type) {
	case kitBackend:
		return o.srv.TokenConfig()
	case kratosBackend:
		return o.p.TokenConfig()
	}
	e.t.Fatalf("conformance: no tokenizer for %T", e.ory)
	return core.TokenConfig{}
}

// tryMint asks the scenario's Ory for a JWT of token's session, as a front end does
// (whoami?tokenize_as=orymfa), and returns whoami's status and the JWT ("" unless 200).
func (e *env) tryMint(t *testing.T, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, e.ory.url()+"/sessions/whoami?tokenize_as="+orymfatest.TokenTemplate, nil)
	must(t, err)
	req.Header.Set("X-Session-Token", token)
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	must(t, err)
	defer res.Body.Close()
	var s struct {
		Tokenized string `json:"tokenized"`
	}
	_ = json.NewDecoder(res.Body).Decode(&s)
	return res.StatusCode, s.Tokenized
}

// mint is tryMint for a session Ory must mint for.
func (e *env) mint(t *testing.T, token string) string {
	t.Helper()
	status, jwt := e.tryMint(t, token)
	if status != http.StatusOK || jwt == "" {
		t.Fatalf("whoami?tokenize_as: %d %q", status, jwt)
	}
	return jwt
}

// serveTokens replaces the scenario's app with one whose verifier is in JWT mode for the
// scenario's Ory (its TokenConfig, changed by edit), on the scenario's clock.
func (e *env) serveTokens(t *testing.T, edit func(*core.TokenConfig)) {
	t.Helper()
	tc := e.tokenConfig()
	if edit != nil {
		edit(&tc)
	}
	v, wh := e.verifier(e.ory.url(), core.Config{Tokens: tc})
	app := newApp(v, v, maxAge, &e.ran)
	app.OnError = e.onError
	e.base = e.adapter.Serve(t, app)
	e.whoami = wh
}

// invalidToken asserts a 401 in Ory's shape with the invalid_token challenge, that the
// handler did not run and that Ory was not asked.
func (e *env) invalidToken(t *testing.T, r response, path, what string) {
	t.Helper()
	if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer error="invalid_token"`) {
		t.Fatalf("%s: WWW-Authenticate = %q (status %d %s)", what, got, r.status, r.body)
	}
	e.oryError(r, 401, "session_inactive", e.loginURL("login", "", path))
	e.calls(0, what)
}

// kid reads a JWT's kid.
func kid(t *testing.T, jwt string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	must(t, err)
	var h struct {
		KID string `json:"kid"`
	}
	must(t, json.Unmarshal(b, &h))
	return h.KID
}
