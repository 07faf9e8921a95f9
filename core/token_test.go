package core_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// bearer is an API request carrying a JWT.
func bearer(jwt string) *core.Request {
	return &core.Request{Method: "GET", URI: "/x", Host: "app.example", Authorization: "Bearer " + jwt, Accept: "application/json"}
}

// tokenVerifier is a verifier in JWT mode for the kit's tokens, with extra public keys.
func tokenVerifier(t *testing.T, srv *orymfatest.Server, cfg core.Config, extra ...jose.JSONWebKey) *core.Verifier {
	t.Helper()
	tc := srv.TokenConfig()
	if len(extra) > 0 {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(tc.JWKS, &set); err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, extra...)
		tc.JWKS, _ = json.Marshal(set)
	}
	if cfg.Tokens.MaxTTL != 0 {
		tc.MaxTTL = cfg.Tokens.MaxTTL
	}
	cfg.Tokens = tc
	return newVerifier(t, srv.URL, cfg)
}

func guard(t *testing.T, v *core.Verifier, req core.Requirement, opts ...core.Option) *core.Guard {
	t.Helper()
	g, err := core.NewGuard(req, append([]core.Option{core.WithVerifier(v)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// An aal2 token passes RequireAAL2 without a single whoami call, and the handler's session
// carries what the token says.
func TestTokenAllowsWithoutAskingOry(t *testing.T) {
	srv := orymfatest.NewServer(t)
	id := srv.NewIdentity(orymfatest.WithSecondFactor())
	tok := srv.SignIn(id, orymfatest.AAL2)
	jwt := srv.Tokenize(tok)
	v := tokenVerifier(t, srv, core.Config{})
	g := guard(t, v, core.RequireAAL2, core.WithMaxAge(time.Hour))
	for range 3 {
		d := g.Check(ctx(t), bearer(jwt))
		if !d.Allowed() {
			t.Fatalf("denied: %v %s", d.Err, d.Body)
		}
		want := srv.Session(tok)
		s := d.Session
		if s.Id != want.Id || s.Identity.Id != id.ID || s.GetAuthenticatorAssuranceLevel() != ory.AUTHENTICATORASSURANCELEVEL_AAL2 {
			t.Fatalf("session from the token: %+v", s)
		}
		if !s.AuthenticatedAt.Equal(want.AuthenticatedAt.Truncate(time.Second)) || !s.ExpiresAt.Equal(want.ExpiresAt.Truncate(time.Second)) {
			t.Fatalf("times: %v %v, whoami says %v %v", s.AuthenticatedAt, s.ExpiresAt, want.AuthenticatedAt, want.ExpiresAt)
		}
		if len(s.AuthenticationMethods) != 2 || s.AuthenticationMethods[1].GetMethod() != "totp" || s.AuthenticationMethods[1].GetAal() != "aal2" {
			t.Fatalf("methods: %+v", s.AuthenticationMethods)
		}
		got, ok := core.SessionFromContext(d.Context(t.Context()))
		if !ok || got != s {
			t.Fatal("the token's session is not in the context")
		}
	}
	if srv.Calls() != 0 {
		t.Fatalf("%d whoami calls for a JWT", srv.Calls())
	}
	if v.CachedTokens() != 1 {
		t.Fatalf("%d cached tokens", v.CachedTokens())
	}
	// The same verifier still takes session tokens to whoami.
	if d := g.Check(ctx(t), apiRequest(tok)); !d.Allowed() || srv.Calls() != 1 {
		t.Fatalf("session token: %v, %d calls", d.Err, srv.Calls())
	}
}

// ForgetSession refuses the session's JWTs on this verifier at once, the cached one and one
// not seen before, while another session's token still passes.
func TestForgetSessionRefusesItsTokens(t *testing.T) {
	srv := orymfatest.NewServer(t)
	tok := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
	other := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
	v := tokenVerifier(t, srv, core.Config{})
	g := guard(t, v, core.RequireAAL2)
	cached, otherJWT := srv.Tokenize(tok), srv.Tokenize(other)
	for _, jwt := range []string{cached, otherJWT} {
		if d := g.Check(ctx(t), bearer(jwt)); !d.Allowed() {
			t.Fatalf("denied before ForgetSession: %v", d.Err)
		}
	}
	v.ForgetSession(srv.Session(tok).Id)
	for name, jwt := range map[string]string{"cached": cached, "new": srv.Tokenize(tok)} {
		if d := g.Check(ctx(t), bearer(jwt)); d.Allowed() || d.Status != http.StatusUnauthorized || !errors.Is(d.Err, core.ErrInvalidToken) {
			t.Fatalf("%s token of a forgotten session: allowed=%v status %d err %v", name, d.Allowed(), d.Status, d.Err)
		}
	}
	if d := g.Check(ctx(t), bearer(otherJWT)); !d.Allowed() {
		t.Fatalf("another session's token is refused: %v", d.Err)
	}
	if srv.Calls() != 0 {
		t.Fatalf("%d whoami calls", srv.Calls())
	}
}

// The policy reads the token as it reads a whoami session: an aal1 token on a Strict project
// means "no second factor when minted", on a Lax one "step up"; an old second factor needs a
// refresh. Each denial is Ory's JSON, never a redirect, and never asks Ory.
func TestTokenPolicyDenials(t *testing.T) {
	srv := orymfatest.NewServer(t)
	plain := srv.Tokenize(srv.SignIn(srv.NewIdentity(), orymfatest.AAL1))
	old := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
	srv.Backdate(old, 2*time.Hour)
	stale := srv.Tokenize(old)

	strict := tokenVerifier(t, srv, core.Config{})
	lax := tokenVerifier(t, srv, core.Config{Enforcement: core.LaxStepUp})
	browser := *bearer(plain)
	browser.Accept = "text/html"
	for _, tc := range []struct {
		name   string
		g      *core.Guard
		r      *core.Request
		out    core.Outcome
		err    error
		id     string
		setup  bool
		maxAge bool
	}{
		{"strict aal1", guard(t, strict, core.RequireAAL2), bearer(plain), core.Enroll, core.ErrNoSecondFactor, "session_aal2_required", true, false},
		{"strict aal1, browser mode", guard(t, strict, core.RequireAAL2, core.WithMode(core.ModeBrowser)), &browser, core.Enroll, core.ErrNoSecondFactor, "session_aal2_required", true, false},
		{"lax aal1", guard(t, lax, core.RequireAAL2), bearer(plain), core.StepUp, core.ErrAAL2Required, "session_aal2_required", false, false},
		{"stale second factor", guard(t, strict, core.RequireAAL2, core.WithMaxAge(time.Hour)), bearer(stale), core.Refresh, core.ErrRefreshRequired, "session_refresh_required", false, true},
		{"stale login", guard(t, strict, core.RequireSession, core.WithMaxAge(time.Hour)), bearer(stale), core.Refresh, core.ErrRefreshRequired, "session_refresh_required", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.g.Check(ctx(t), tc.r)
			if d.Outcome != tc.out || !errors.Is(d.Err, tc.err) || d.Status != http.StatusForbidden || d.Mode != core.ModeAPI {
				t.Fatalf("got %v %v %d mode %v", d.Outcome, d.Err, d.Status, d.Mode)
			}
			e := decodeError(t, d)
			if e.Error.ID != tc.id || (e.Error.Details["setup_second_factor"] == true) != tc.setup || (e.Error.Details["max_age"] != nil) != tc.maxAge {
				t.Fatalf("body %s", d.Body)
			}
			if d.Session == nil || !strings.Contains(d.Header.Get("WWW-Authenticate"), "insufficient_user_authentication") {
				t.Fatalf("session %v, challenge %q", d.Session, d.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if d := guard(t, strict, core.RequireSession).Check(ctx(t), bearer(plain)); !d.Allowed() {
		t.Fatalf("an aal1 token on RequireSession: %v", d.Err)
	}
	if srv.Calls() != 0 {
		t.Fatalf("%d whoami calls", srv.Calls())
	}
}

// A guard stacked on another of the same verifier reuses the token's session and denies on
// it without asking Ory.
func TestTokenStackedGuards(t *testing.T) {
	srv := orymfatest.NewServer(t)
	jwt := srv.Tokenize(srv.SignIn(srv.NewIdentity(), orymfatest.AAL1))
	v := tokenVerifier(t, srv, core.Config{})
	d := guard(t, v, core.RequireSession).Check(ctx(t), bearer(jwt))
	if !d.Allowed() {
		t.Fatal(d.Err)
	}
	inner := guard(t, v, core.RequireAAL2).Check(d.Context(ctx(t)), bearer(jwt))
	if inner.Outcome != core.Enroll || !inner.FromContext && inner.Session == nil {
		t.Fatalf("inner: %v", inner.Outcome)
	}
	if srv.Calls() != 0 {
		t.Fatalf("%d whoami calls", srv.Calls())
	}
}

// forge signs claims with key under kid, as an attacker or a misconfigured Ory would.
func forge(t testing.TB, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any, extra map[jose.HeaderKey]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	for k, v := range extra {
		opts = opts.WithHeader(k, v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := signer.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claimsOf reads a JWT's claims without verifying it.
func claimsOf(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// flip changes the character at i of a base64url text.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// Every token that is not exactly what the configured Ory template mints is a 401 with the
// invalid_token challenge, decided without Ory, and never cached.
func TestTokenRefusals(t *testing.T) {
	srv := orymfatest.NewServer(t)
	good := srv.Tokenize(srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2))
	c := claimsOf(t, good)
	iat, _ := c["iat"].(json.Number).Int64()

	trusted, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	trustedJWK := jose.JSONWebKey{Key: &trusted.PublicKey, KeyID: "trusted", Algorithm: "ES256", Use: "sig"}
	v := tokenVerifier(t, srv, core.Config{}, trustedJWK)
	g := guard(t, v, core.RequireSession)
	sign := func(claims map[string]any) string { return forge(t, trusted, jose.ES256, "trusted", claims, nil) }

	pubJSON, _ := json.Marshal(trustedJWK)
	hs := func(secret []byte) string {
		h := b64(`{"alg":"HS256","kid":"trusted","typ":"JWT"}`) + "." + strings.Split(sign(c), ".")[1]
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(h))
		return h + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	parts := strings.Split(good, ".")
	tampered := with(c, "acr", "aal3")
	tamperedPayload, _ := json.Marshal(tampered)

	if d := g.Check(ctx(t), bearer(sign(c))); !d.Allowed() {
		t.Fatalf("the reference token is refused: %v", d.Err)
	}
	for _, tc := range []struct{ name, jwt string }{
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString(tamperedPayload) + "." + parts[2]},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2], 10)},
		{"expired", sign(with(c, "iat", iat-3600, "nbf", iat-3600, "exp", iat-600))},
		{"born expired (a template without ttl)", sign(with(c, "exp", iat))},
		{"wrong aud", sign(with(c, "aud", "someone-else"))},
		{"no aud", sign(with(c, "aud", nil))},
		{"wrong iss", sign(with(c, "iss", "https://evil.example/"))},
		{"over-long TTL", sign(with(c, "exp", iat+2*3600))},
		{"no exp", sign(with(c, "exp", nil))},
		{"no iat", sign(with(c, "iat", nil))},
		{"not valid yet", sign(with(c, "nbf", iat+600))},
		{"issued in the future", sign(with(c, "iat", iat+600, "nbf", iat+600, "exp", iat+900))},
		{"no sid", sign(with(c, "sid", nil))},
		{"no acr", sign(with(c, "acr", nil))},
		{"unknown acr", sign(with(c, "acr", "aal9"))},
		{"session expired", sign(with(c, "session_expires_at", iat-1))},
		{"time as a string", sign(with(c, "exp", "tomorrow"))},
		{"alg none", b64(`{"alg":"none","kid":"trusted","typ":"JWT"}`) + "." + parts[1] + "."},
		{"alg none with a signature", b64(`{"alg":"none","kid":"trusted"}`) + "." + parts[1] + "." + parts[2]},
		{"HS256 keyed with the public JWK", hs(pubJSON)},
		{"HS256 keyed with the public key's x", hs(trusted.PublicKey.X.Bytes())},
		{"unknown kid", forge(t, other, jose.ES256, "unknown", c, nil)},
		{"no kid", forge(t, trusted, jose.ES256, "", c, nil)},
		{"another key under a trusted kid", forge(t, other, jose.ES256, "trusted", c, nil)},
		{"embedded jwk of the attacker", forge(t, other, jose.ES256, "trusted", c, map[jose.HeaderKey]any{"jwk": jose.JSONWebKey{Key: &other.PublicKey}})},
		{"critical header", forge(t, trusted, jose.ES256, "trusted", c, map[jose.HeaderKey]any{"crit": []string{"exp"}, "exp": 1})},
		{"ES384 header on an ES256 key", b64(`{"alg":"ES384","kid":"trusted"}`) + "." + parts[1] + "." + parts[2]},
		{"two dots, not base64", "a.b.c"},
		{"too long", parts[0] + "." + strings.Repeat("A", 9000) + "." + parts[2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := g.Check(ctx(t), bearer(tc.jwt))
			if d.Outcome != core.Login || d.Status != http.StatusUnauthorized || !errors.Is(d.Err, core.ErrInvalidToken) || !errors.Is(d.Err, core.ErrNoSession) {
				t.Fatalf("got %v %d %v", d.Outcome, d.Status, d.Err)
			}
			if got := d.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer error="invalid_token"`) {
				t.Fatalf("challenge %q", got)
			}
			if e := decodeError(t, d); e.Error.ID != "session_inactive" {
				t.Fatalf("body %s", d.Body)
			}
		})
	}
	if srv.Calls() != 0 || v.CachedTokens() != 1 {
		t.Fatalf("%d whoami calls, %d cached tokens", srv.Calls(), v.CachedTokens())
	}
}

// A cached token is served until it expires, and not a moment longer.
func TestTokenCacheEndsAtExpiry(t *testing.T) {
	srv := orymfatest.NewServer(t)
	jwt := srv.Tokenize(srv.SignIn(srv.NewIdentity(), orymfatest.AAL1))
	var offset atomic.Int64
	v := tokenVerifier(t, srv, core.Config{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	g := guard(t, v, core.RequireSession)
	if d := g.Check(ctx(t), bearer(jwt)); !d.Allowed() || v.CachedTokens() != 1 {
		t.Fatalf("%v, %d cached", d.Err, v.CachedTokens())
	}
	offset.Store(int64(orymfatest.TokenTTL + time.Second))
	if d := g.Check(ctx(t), bearer(jwt)); !d.Allowed() || v.CachedTokens() != 0 {
		t.Fatalf("within the leeway for clock skew: %v, %d cached", d.Err, v.CachedTokens())
	}
	offset.Store(int64(orymfatest.TokenTTL + time.Minute))
	if d := g.Check(ctx(t), bearer(jwt)); d.Allowed() || !errors.Is(d.Err, core.ErrInvalidToken) {
		t.Fatalf("an expired token from the cache: %v", d.Err)
	}
	if v.CachedTokens() != 0 {
		t.Fatalf("an expired token is cached")
	}
}

// With the cache off every check verifies in full, and still agrees.
func TestTokenWithoutCache(t *testing.T) {
	srv := orymfatest.NewServer(t)
	jwt := srv.Tokenize(srv.SignIn(srv.NewIdentity(), orymfatest.AAL1))
	v := tokenVerifier(t, srv, core.Config{Cache: core.CacheConfig{Disabled: true}})
	for range 2 {
		if d := guard(t, v, core.RequireSession).Check(ctx(t), bearer(jwt)); !d.Allowed() {
			t.Fatal(d.Err)
		}
	}
	if v.CachedTokens() != 0 {
		t.Fatal("cached with the cache off")
	}
}

// The kit's whoami mints like Kratos: tokenize_as after the AAL check, 400 for an unknown
// template.
func TestKitWhoamiTokenizes(t *testing.T) {
	srv := orymfatest.NewServer(t)
	tok := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	get := func(query string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/sessions/whoami?"+query, nil)
		req.Header.Set("X-Session-Token", tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	status, m := get("tokenize_as=orymfa")
	jwt, _ := m["tokenized"].(string)
	if status != http.StatusOK || jwt == "" {
		t.Fatalf("%d %v", status, m)
	}
	v := tokenVerifier(t, srv, core.Config{})
	if d := guard(t, v, core.RequireSession).Check(ctx(t), bearer(jwt)); !d.Allowed() {
		t.Fatal(d.Err)
	}
	if status, _ := get("tokenize_as=nope"); status != http.StatusBadRequest {
		t.Fatalf("unknown template: %d", status)
	}
	if _, m := get(""); m["tokenized"] != nil {
		t.Fatal("tokenized without tokenize_as")
	}
	srv.StepUp(tok) // enrolls a second factor: the same session is aal2 now
	srv2 := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	tok = srv2
	if status, m := get("tokenize_as=orymfa"); status != http.StatusForbidden || m["tokenized"] != nil {
		t.Fatalf("Strict aal1 with a second factor: %d %v", status, m)
	}
}

// Misconfiguration shows in New, naming the setting.
func TestTokenConfigErrors(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set := func(keys ...jose.JSONWebKey) []byte {
		b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pub := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k", Algorithm: "ES256", Use: "sig"}
	ok := set(pub)
	for _, tc := range []struct {
		name string
		cfg  core.Config
		want string
	}{
		{"private key", core.Config{Tokens: core.TokenConfig{JWKS: set(jose.JSONWebKey{Key: key, KeyID: "k", Algorithm: "ES256"})}}, "private key"},
		{"symmetric key", core.Config{Tokens: core.TokenConfig{JWKS: set(jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "k", Algorithm: "HS256"})}}, "symmetric"},
		{"no kid", core.Config{Tokens: core.TokenConfig{JWKS: set(jose.JSONWebKey{Key: &key.PublicKey, Algorithm: "ES256"})}}, "no kid"},
		{"duplicate kid", core.Config{Tokens: core.TokenConfig{JWKS: set(pub, pub)}}, "twice"},
		{"alg of another key type", core.Config{Tokens: core.TokenConfig{JWKS: set(jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k", Algorithm: "RS256"})}}, "does not fit"},
		{"alg none", core.Config{Tokens: core.TokenConfig{JWKS: set(jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k", Algorithm: "none"})}}, "does not fit"},
		{"not JSON", core.Config{Tokens: core.TokenConfig{JWKS: []byte("nope")}}, "Tokens.JWKS"},
		{"empty set", core.Config{Tokens: core.TokenConfig{JWKS: []byte(`{"keys":[]}`)}}, "no keys"},
		{"both", core.Config{Tokens: core.TokenConfig{JWKS: ok, JWKSURL: "https://keys.example/jwks.json"}}, "not both"},
		{"DisableBearer", core.Config{DisableBearer: true, Tokens: core.TokenConfig{JWKS: ok}}, "DisableBearer"},
		{"MaxTTL too long", core.Config{Tokens: core.TokenConfig{JWKS: ok, MaxTTL: 48 * time.Hour}}, "MaxTTL"},
		{"MaxTTL negative", core.Config{Tokens: core.TokenConfig{JWKS: ok, MaxTTL: -1}}, "MaxTTL"},
		{"issuer", core.Config{Tokens: core.TokenConfig{JWKS: ok, Issuer: "not a url"}}, "Tokens.Issuer"},
		{"JWKSURL", core.Config{Tokens: core.TokenConfig{JWKSURL: "ftp://keys.example"}}, "Tokens.JWKSURL"},
		{"settings without keys", core.Config{Tokens: core.TokenConfig{Audience: "api"}}, "without Tokens.JWKS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.SDKURL = "https://ory.example"
			tc.cfg.AppURL = "https://app.example"
			_, err := core.New(tc.cfg)
			if !errors.Is(err, core.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrConfig naming %q", err, tc.want)
			}
		})
	}
}

// A key set from a URL is fetched on the first token and again for an unknown kid (a
// rotation), at most once per RefreshInterval however many requests ask, and once for all
// concurrent ones.
func TestTokenJWKSURL(t *testing.T) {
	srv := orymfatest.NewServer(t)
	jwt := srv.Tokenize(srv.SignIn(srv.NewIdentity(), orymfatest.AAL1))
	c := claimsOf(t, jwt)
	rotated, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var kit jose.JSONWebKeySet
	_ = json.Unmarshal(srv.TokenConfig().JWKS, &kit)

	var (
		mu      sync.Mutex
		keys    = kit.Keys
		fetches atomic.Int32
		release = make(chan struct{})
		arrived = make(chan struct{})
		once    sync.Once
		hold    atomic.Bool
	)
	keySrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if hold.Load() {
			once.Do(func() { close(arrived) })
			<-release
		}
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: keys})
	}))
	t.Cleanup(keySrv.Close)

	var offset atomic.Int64
	v := newVerifier(t, srv.URL, core.Config{
		Tokens: core.TokenConfig{JWKSURL: keySrv.URL + "/jwks.json", Issuer: srv.URL, RefreshInterval: time.Minute},
		Now:    func() time.Time { return time.Now().Add(time.Duration(offset.Load())) },
	})
	g := guard(t, v, core.RequireSession)
	if d := g.Check(ctx(t), bearer(jwt)); !d.Allowed() || fetches.Load() != 1 {
		t.Fatalf("first token: %v, %d fetches", d.Err, fetches.Load())
	}

	// A token of a key the set does not have yet, within the interval since the first fetch:
	// refused without a fetch, even once the key server has the key.
	next := forge(t, rotated, jose.ES256, "rotated", c, nil)
	for i := range 5 {
		if i == 2 {
			mu.Lock()
			keys = append(keys, jose.JSONWebKey{Key: &rotated.PublicKey, KeyID: "rotated", Algorithm: "ES256", Use: "sig"})
			mu.Unlock()
		}
		if d := g.Check(ctx(t), bearer(next)); d.Allowed() || !errors.Is(d.Err, core.ErrInvalidToken) {
			t.Fatalf("unknown kid: %v", d.Err)
		}
	}
	if fetches.Load() != 1 {
		t.Fatalf("%d fetches within the interval", fetches.Load())
	}
	// After it, concurrent requests for the new key share one fetch.
	offset.Store(int64(2 * time.Minute))
	hold.Store(true)
	var wg sync.WaitGroup
	results := make(chan bool, 8)
	for range 8 {
		wg.Go(func() {
			d := g.Check(ctx(t), bearer(next))
			results <- d.Allowed()
		})
	}
	<-arrived // one request's fetch reached the key server; it holds there
	close(release)
	wg.Wait()
	close(results)
	allowed := 0
	for ok := range results {
		if ok {
			allowed++
		}
	}
	if fetches.Load() != 2 {
		t.Fatalf("%d fetches for 8 concurrent requests", fetches.Load())
	}
	if allowed == 0 {
		t.Fatal("the rotated key was never accepted")
	}
	if d := g.Check(ctx(t), bearer(next)); !d.Allowed() {
		t.Fatalf("after the refresh: %v", d.Err)
	}
	// Right after a refresh, another unknown kid waits for the next interval.
	if d := g.Check(ctx(t), bearer(forge(t, rotated, jose.ES256, "later", c, nil))); d.Allowed() || fetches.Load() != 2 {
		t.Fatalf("another unknown kid: %v, %d fetches", d.Err, fetches.Load())
	}
	if srv.Calls() != 0 {
		t.Fatalf("%d whoami calls", srv.Calls())
	}
}

// An unreachable key URL is Ory-side trouble: 503, not 401.
func TestTokenJWKSURLDown(t *testing.T) {
	srv := orymfatest.NewServer(t)
	jwt := srv.Tokenize(srv.SignIn(srv.NewIdentity(), orymfatest.AAL1))
	ln := listen(t)
	url := "http://" + ln.Addr().String()
	ln.Close()
	v := newVerifier(t, srv.URL, core.Config{Tokens: core.TokenConfig{JWKSURL: url + "/jwks.json", Issuer: srv.URL}})
	d := guard(t, v, core.RequireSession).Check(ctx(t), bearer(jwt))
	if d.Outcome != core.Unavailable || d.Status != http.StatusServiceUnavailable {
		t.Fatalf("got %v %d", d.Outcome, d.Status)
	}
}

// The model behind JWT mode's reason to exist, checked with R verifiers as replicas and S
// sessions over a simulated minute in 1 s steps, every replica seeing every session each step:
// in whoami mode Ory gets R·S·T/TTL calls (one per replica, session and cache TTL); in JWT
// mode the replicas make none (Ory only mints, S per token ttl, whatever R is).
func TestOryCallsReplicasModel(t *testing.T) {
	const (
		replicas = 3
		sessions = 10
		window   = 60 * time.Second
		ttl      = 10 * time.Second
	)
	srv := orymfatest.NewServer(t)
	var tokens, jwts []string
	for range sessions {
		tok := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
		tokens, jwts = append(tokens, tok), append(jwts, srv.Tokenize(tok))
	}
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	var guards []*core.Guard
	for range replicas {
		v := tokenVerifier(t, srv, core.Config{Cache: core.CacheConfig{TTL: ttl}, Now: now})
		guards = append(guards, guard(t, v, core.RequireSession))
	}
	run := func(creds []string, req func(string) *core.Request) int {
		srv.ResetCalls()
		for step := time.Duration(0); step < window; step += time.Second {
			offset.Store(int64(step))
			for _, g := range guards {
				for _, c := range creds {
					if d := g.Check(ctx(t), req(c)); !d.Allowed() {
						t.Fatalf("step %v: %v", step, d.Err)
					}
				}
			}
		}
		return srv.Calls()
	}
	if got, want := run(tokens, apiRequest), replicas*sessions*int(window/ttl); got != want {
		t.Errorf("whoami mode: %d calls, the model says R·S·T/TTL = %d", got, want)
	}
	if got := run(jwts, bearer); got != 0 {
		t.Errorf("JWT mode: %d whoami calls, want 0", got)
	}
}
