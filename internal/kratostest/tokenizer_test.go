package kratostest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
)

// jwtClaims reads a JWT's claims without verifying it (the verifier's tests do that).
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func unix(t *testing.T, rfc3339 string) float64 {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, rfc3339)
	if err != nil {
		t.Fatal(err)
	}
	return float64(at.Unix())
}

// Kratos mints with core.ClaimsMapper what the verifier accepts: the claims the policy reads,
// the session's times in whole seconds, exp - iat equal to the template's ttl.
func TestTokenizerMintsWhatTheVerifierReads(t *testing.T) {
	ctx, p := testCtx(t), totpProject
	_, jwt, body := signUpAndTokenize(t, TokenTemplate)
	var s struct {
		ID              string    `json:"id"`
		AuthenticatedAt time.Time `json:"authenticated_at"`
		ExpiresAt       time.Time `json:"expires_at"`
		Identity        struct {
			ID string `json:"id"`
		} `json:"identity"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	c := jwtClaims(t, jwt)
	for name, want := range map[string]any{
		"aud": "orymfa", "acr": "aal1", "sid": s.ID, "sub": s.Identity.ID, "iss": p.PublicURL + "/",
		"auth_time": float64(s.AuthenticatedAt.Unix()), "session_expires_at": float64(s.ExpiresAt.Unix()),
	} {
		if c[name] != want {
			t.Errorf("claim %s = %v, want %v", name, c[name], want)
		}
	}
	if ttl := c["exp"].(float64) - c["iat"].(float64); ttl != TokenTTL.Seconds() {
		t.Errorf("exp - iat = %v s, want the template's %v", ttl, TokenTTL)
	}
	if _, ok := c["second_factor_time"]; ok {
		t.Error("second_factor_time for a session without a second factor")
	}

	v, err := core.New(core.Config{SDKURL: p.PublicURL, AppURL: "http://127.0.0.1", Tokens: p.TokenConfig()})
	if err != nil {
		t.Fatal(err)
	}
	g, err := core.NewGuard(core.RequireSession, core.WithVerifier(v))
	if err != nil {
		t.Fatal(err)
	}
	d := g.Check(ctx, &core.Request{Authorization: "Bearer " + jwt})
	if !d.Allowed() || d.Session.Id != s.ID || d.Session.Identity.Id != s.Identity.ID {
		t.Fatalf("the verifier: %v %+v", d.Err, d.Session)
	}
}

// The mapper converts every RFC 3339 form to the Unix seconds Go's time package computes:
// Z, +02:00, -05:30, +14:00, fractions of any length (dropped), a leap day, a time before
// 2000 and one on the next leap day.
func TestTokenizerMapperTimes(t *testing.T) {
	_, jwt, _ := signUpAndTokenize(t, ProbeTemplate)
	c := jwtClaims(t, jwt)
	var probe struct {
		AuthenticatedAt string `json:"authenticated_at"`
		ExpiresAt       string `json:"expires_at"`
		Methods         []struct {
			CompletedAt string `json:"completed_at"`
		} `json:"authentication_methods"`
	}
	if err := json.Unmarshal([]byte(ProbeSession), &probe); err != nil {
		t.Fatal(err)
	}
	if got, want := c["auth_time"], unix(t, probe.AuthenticatedAt); got != want {
		t.Errorf("auth_time (%s) = %v, want %v", probe.AuthenticatedAt, got, want)
	}
	if got, want := c["session_expires_at"], unix(t, probe.ExpiresAt); got != want {
		t.Errorf("session_expires_at (%s) = %v, want %v", probe.ExpiresAt, got, want)
	}
	methods, _ := c["authentication_methods"].([]any)
	if len(methods) != len(probe.Methods) {
		t.Fatalf("methods: %v", c["authentication_methods"])
	}
	for i, m := range methods {
		if got, want := m.(map[string]any)["completed_at"], unix(t, probe.Methods[i].CompletedAt); got != want {
			t.Errorf("completed_at (%s) = %v, want %v", probe.Methods[i].CompletedAt, got, want)
		}
	}
	if got, want := c["second_factor_time"], unix(t, probe.Methods[1].CompletedAt); got != want {
		t.Errorf("second_factor_time = %v, want the newest aal2 method's %v", got, want)
	}
	if amr, _ := json.Marshal(c["amr"]); string(amr) != `["password","totp","lookup_secret"]` {
		t.Errorf("amr = %s", amr)
	}
}

// Kratos checks the AAL before it mints: on a Strict project an aal1 session of a user with a
// second factor gets whoami's 403 and no token. An unknown template is a 400.
func TestTokenizerAfterTheAALCheck(t *testing.T) {
	ctx := testCtx(t)
	token, err := codeMFA.RegisterAPI(ctx, NewEmail(), Password)
	if err != nil {
		t.Fatal(err)
	}
	status, jwt, body, err := codeMFA.Tokenize(ctx, token, TokenTemplate)
	if err != nil || status != http.StatusForbidden || jwt != "" || ErrorID(body) != "session_aal2_required" {
		t.Fatalf("aal1 with a second factor: %d %q %v %s", status, jwt, err, body)
	}
	token, err = totpProject.RegisterAPI(ctx, NewEmail(), Password)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, body, _ := totpProject.Tokenize(ctx, token, "nope"); status != http.StatusBadRequest {
		t.Fatalf("unknown template: %d %s", status, body)
	}
}

// core's SessionJWT gets a browser session's JWT from Kratos with the session cookie, once.
func TestTokenizerSessionJWTForABrowser(t *testing.T) {
	ctx, p := testCtx(t), totpProject
	b := p.NewBrowser()
	if err := b.Register(ctx, NewEmail(), Password); err != nil {
		t.Fatal(err)
	}
	c := b.SessionCookie()
	v, err := core.New(core.Config{SDKURL: p.PublicURL, AppURL: "http://127.0.0.1", Tokens: p.TokenConfig()})
	if err != nil {
		t.Fatal(err)
	}
	r := &core.Request{Cookie: "app=1; " + c.Name + "=" + c.Value}
	jwt, err := v.SessionJWT(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := v.SessionJWT(ctx, r); err != nil || again != jwt {
		t.Fatalf("not cached: %v", err)
	}
	g, err := core.NewGuard(core.RequireSession, core.WithVerifier(v))
	if err != nil {
		t.Fatal(err)
	}
	if d := g.Check(ctx, &core.Request{Authorization: "Bearer " + jwt}); !d.Allowed() || d.Session.GetAuthenticatorAssuranceLevel() != "aal1" {
		t.Fatalf("the minted JWT: %v", d.Err)
	}
}

// A template without ttl mints tokens that are born expired (exp == iat), and the verifier
// refuses them rather than accept them for its leeway.
func TestTokenizerWithoutTTL(t *testing.T) {
	ctx, p := testCtx(t), totpProject
	token, jwt, _ := signUpAndTokenize(t, NoTTLTemplate)
	c := jwtClaims(t, jwt)
	if c["exp"] != c["iat"] {
		t.Fatalf("exp %v, iat %v: Kratos no longer mints born-expired tokens without a ttl", c["exp"], c["iat"])
	}
	v, err := core.New(core.Config{SDKURL: p.PublicURL, AppURL: "http://127.0.0.1", Tokens: p.TokenConfig()})
	if err != nil {
		t.Fatal(err)
	}
	g, err := core.NewGuard(core.RequireSession, core.WithVerifier(v))
	if err != nil {
		t.Fatal(err)
	}
	if d := g.Check(ctx, &core.Request{Authorization: "Bearer " + jwt}); d.Allowed() || !errors.Is(d.Err, core.ErrInvalidToken) {
		t.Fatalf("a born-expired token: %v", d.Err)
	}
	// SessionJWT refuses to hand one out, naming the fix.
	tc := p.TokenConfig()
	tc.Template = NoTTLTemplate
	minter, err := core.New(core.Config{SDKURL: p.PublicURL, AppURL: "http://127.0.0.1", Tokens: tc, OnError: func(context.Context, error) {}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := minter.SessionJWT(ctx, &core.Request{SessionToken: token}); !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "ttl") {
		t.Fatalf("SessionJWT with a template without ttl: %v", err)
	}
}

// signUpAndTokenize registers a user on the TOTP project and mints a JWT of the session with
// template; body is Kratos's answer (the session, beside the JWT).
func signUpAndTokenize(t *testing.T, template string) (token, jwt string, body []byte) {
	t.Helper()
	ctx, p := testCtx(t), totpProject
	token, err := p.RegisterAPI(ctx, NewEmail(), Password)
	if err != nil {
		t.Fatal(err)
	}
	status, jwt, body, err := p.Tokenize(ctx, token, template)
	if err != nil || status != http.StatusOK {
		t.Fatalf("tokenize: %d %v %s", status, err, body)
	}
	return token, jwt, body
}
