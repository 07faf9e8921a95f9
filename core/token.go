package core

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	ory "github.com/ory/client-go"
)

// TokenConfig turns on the local verification of the JWTs Ory mints for a session
// (whoami?tokenize_as=<template>, Ory's "tokenized sessions"). JWT mode is on when JWKS or
// JWKSURL is set: an "Authorization: Bearer" credential that is a JWT is then verified with
// these keys and never sent to Ory, while session tokens and cookies keep going to whoami.
//
// Ory serves no key set for these tokens: give the verifier the public half of the template's
// private JWK Set. The template's claims mapper must be [ClaimsMapper] (or one that adds to its
// claims), which carries what the policy reads.
//
// A request's bearer JWT is its credential, whatever else it carries. Verified tokens are
// cached until they expire, under a keyed hash of the token (Cache.MaxEntries bounds them,
// Cache.Disabled turns it off; Cache.TTL does not apply: a token never changes). The
// trade-off: a session revoked in Ory keeps its tokens valid until they expire, so keep the
// template's ttl short.
type TokenConfig struct {
	// JWKS is the public JWK Set (JSON) the tokens are verified with. Every key needs a kid;
	// RSA keys need an alg (EC and Ed25519 keys imply theirs). Private or symmetric keys are
	// refused.
	JWKS []byte
	// JWKSURL is where the public JWK Set is fetched from instead (your own infrastructure:
	// Ory serves none). It is fetched on the first token, and again when a token names a kid
	// it does not hold (at most once per [TokenConfig.RefreshInterval]).
	JWKSURL string
	// RefreshInterval is the least time between two fetches of JWKSURL (default 1 minute).
	RefreshInterval time.Duration
	// Issuer is the iss every token must carry (default: the Ory URL, Config.SDKURL). A
	// trailing slash is ignored on both sides: Kratos writes its public URL with one.
	Issuer string
	// Audience must be one of the token's aud (default "orymfa", what ClaimsMapper sets).
	Audience string
	// MaxTTL refuses tokens whose exp - iat is longer (default 1 hour, at most 24 hours):
	// a claims mapper can set any exp, and a revoked session's token stays valid until then.
	MaxTTL time.Duration
	// Template is the tokenizer template [Verifier.SessionJWT] mints with (default
	// "orymfa"). It may be set alone, for an app that mints JWTs for other services but does
	// not verify any.
	Template string
}

const (
	defaultTokenAudience = "orymfa"
	defaultTokenTemplate = "orymfa"
	defaultTokenMaxTTL   = time.Hour
	maxTokenMaxTTL       = 24 * time.Hour
	// tokenLeeway absorbs clock skew between Ory and the app on exp, nbf and iat: Kratos sets
	// nbf and iat to the second it mints.
	tokenLeeway = 30 * time.Second
	// maxTokenLen bounds a JWT: a mapped session is about a kilobyte; a longer one is refused
	// before any parsing or cryptography.
	maxTokenLen = 8192
)

// ErrInvalidToken is wrapped by the error of a denial on a JWT that is malformed, not signed
// by a key of the configured set, expired, or meant for another issuer or audience. Such a
// denial also matches [ErrNoSession] (a 401).
var ErrInvalidToken = errors.New("orymfa: invalid session JWT")

// TokenError says why a JWT was refused. It matches [ErrInvalidToken] and [ErrNoSession] with
// errors.Is.
type TokenError struct {
	// Reason says what is wrong with the token, without its content.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Error says why the token was refused.
func (e *TokenError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("orymfa: invalid session JWT (%s): %v", e.Reason, e.Err)
	}
	return "orymfa: invalid session JWT (" + e.Reason + ")"
}

// Unwrap returns the cause.
func (e *TokenError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInvalidToken) and errors.Is(err, ErrNoSession) true.
func (e *TokenError) Is(target error) bool {
	return target == ErrInvalidToken || target == ErrNoSession
}

func invalidToken(reason string, err error) error { return &TokenError{Reason: reason, Err: err} }

// tokenVerifier verifies tokenized sessions for a Verifier.
type tokenVerifier struct {
	keys     atomic.Pointer[keySet]
	remote   *remoteKeys // nil for a static set
	issuer   string      // without a trailing slash
	audience string
	maxTTL   int64 // nanoseconds
	cache    *tokenCache
	forgets  *forgetList
}

// tokenKey is one verification key and the one algorithm it may be used with.
type tokenKey struct {
	alg jose.SignatureAlgorithm
	key any // *ecdsa.PublicKey, *rsa.PublicKey or ed25519.PublicKey
}

// keySet is a parsed public JWK Set.
type keySet struct {
	byKID map[string]tokenKey
	algs  []jose.SignatureAlgorithm // every alg in the set, what the parser may accept
}

// setupTokens turns JWT mode on when cfg.Tokens asks for it.
func (v *Verifier) setupTokens(cfg Config, sdkURL string) error {
	tc := cfg.Tokens
	v.minter = newTokenMinter(tc, cfg.Cache)
	if len(tc.JWKS) == 0 && tc.JWKSURL == "" {
		if tc.Issuer != "" || tc.Audience != "" || tc.MaxTTL != 0 || tc.RefreshInterval != 0 {
			return fmt.Errorf("%w: Tokens is set without Tokens.JWKS or Tokens.JWKSURL", ErrConfig)
		}
		return nil
	}
	if len(tc.JWKS) > 0 && tc.JWKSURL != "" {
		return fmt.Errorf("%w: set Tokens.JWKS or Tokens.JWKSURL, not both", ErrConfig)
	}
	if cfg.DisableBearer {
		return fmt.Errorf("%w: Tokens needs the Authorization: Bearer header, which DisableBearer turns off", ErrConfig)
	}
	if tc.MaxTTL < 0 || tc.MaxTTL > maxTokenMaxTTL {
		return fmt.Errorf("%w: Tokens.MaxTTL %v must be between 0 (1 hour) and %v: a revoked session's token stays valid that long", ErrConfig, tc.MaxTTL, maxTokenMaxTTL)
	}
	if tc.RefreshInterval < 0 {
		return fmt.Errorf("%w: Tokens.RefreshInterval must not be negative", ErrConfig)
	}
	issuer := cmpOr(tc.Issuer, sdkURL)
	if _, err := parseBaseURL("Tokens.Issuer", issuer); err != nil {
		return err
	}
	t := &tokenVerifier{
		issuer:   strings.TrimRight(issuer, "/"),
		audience: cmpOr(tc.Audience, defaultTokenAudience),
		maxTTL:   int64(cmpOr(tc.MaxTTL, defaultTokenMaxTTL)),
		forgets:  &forgetList{},
	}
	if len(tc.JWKS) > 0 {
		ks, err := parseJWKS(tc.JWKS)
		if err != nil {
			return fmt.Errorf("%w: Tokens.JWKS: %w", ErrConfig, err)
		}
		t.keys.Store(ks)
	} else {
		// A key set's URL may carry a query (a signed storage URL), unlike Ory's base URLs.
		u, err := url.Parse(tc.JWKSURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
			return fmt.Errorf("%w: Tokens.JWKSURL %q must be an absolute http(s) URL without user info or fragment", ErrConfig, tc.JWKSURL)
		}
		t.remote = newRemoteKeys(v, tc.JWKSURL, cmpOr(tc.RefreshInterval, time.Minute))
	}
	cache, err := newTokenCache(cfg.Cache)
	if err != nil {
		return err
	}
	t.cache = cache
	v.tokens = t
	return nil
}

// parseJWKS reads a public JWK Set: every key with a kid (unique), an asymmetric signature
// algorithm that fits the key, and no private part.
func parseJWKS(b []byte) (*keySet, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	if len(raw.Keys) == 0 {
		return nil, errors.New("the JWK Set has no keys")
	}
	ks := &keySet{byKID: make(map[string]tokenKey, len(raw.Keys))}
	for i, rk := range raw.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(rk); err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if k.KeyID == "" {
			return nil, fmt.Errorf("key %d has no kid (Ory names the key it signs with)", i)
		}
		if _, dup := ks.byKID[k.KeyID]; dup {
			return nil, fmt.Errorf("kid %q appears twice", k.KeyID)
		}
		if k.Use != "" && k.Use != "sig" {
			return nil, fmt.Errorf("key %q has use %q, not sig", k.KeyID, k.Use)
		}
		tk, err := publicKey(k)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.KeyID, err)
		}
		ks.byKID[k.KeyID] = tk
		if !containsAlg(ks.algs, tk.alg) {
			ks.algs = append(ks.algs, tk.alg)
		}
	}
	return ks, nil
}

func containsAlg(algs []jose.SignatureAlgorithm, a jose.SignatureAlgorithm) bool {
	for _, x := range algs {
		if x == a {
			return true
		}
	}
	return false
}

// publicKey checks one key and pins its algorithm: the key's alg when given, else the one its
// curve implies. An HMAC or "none" never passes: only public keys are accepted.
func publicKey(k jose.JSONWebKey) (tokenKey, error) {
	alg := jose.SignatureAlgorithm(k.Algorithm)
	switch key := k.Key.(type) {
	case *ecdsa.PublicKey:
		want := map[elliptic.Curve]jose.SignatureAlgorithm{elliptic.P256(): jose.ES256, elliptic.P384(): jose.ES384, elliptic.P521(): jose.ES512}[key.Curve]
		if want == "" {
			return tokenKey{}, errors.New("unsupported curve")
		}
		if alg == "" {
			alg = want
		}
		if alg != want {
			return tokenKey{}, fmt.Errorf("alg %q does not fit an EC key on %s", alg, key.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		case "":
			return tokenKey{}, errors.New("an RSA key needs an alg (RS256, PS256, …)")
		default:
			return tokenKey{}, fmt.Errorf("alg %q does not fit an RSA key", alg)
		}
		if key.N.BitLen() < 2048 {
			return tokenKey{}, errors.New("the RSA key is shorter than 2048 bits")
		}
	case ed25519.PublicKey:
		if alg == "" {
			alg = jose.EdDSA
		}
		if alg != jose.EdDSA {
			return tokenKey{}, fmt.Errorf("alg %q does not fit an Ed25519 key", alg)
		}
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
		return tokenKey{}, errors.New("is a private key: give the verifier the public JWK Set only")
	case []byte:
		return tokenKey{}, errors.New("is a symmetric key: tokenized sessions are verified with public keys only")
	default:
		return tokenKey{}, fmt.Errorf("unsupported key type %T", k.Key)
	}
	return tokenKey{alg: alg, key: k.Key}, nil
}

// looksLikeJWT reports whether a bearer credential has the shape of a signed JWT (three
// base64url parts), which an Ory session token (ory_st_…) never has.
func looksLikeJWT(s string) bool {
	dots := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			dots++
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return dots == 2 && len(s) >= 5
}

// bearerJWT returns the request's bearer credential when it is meant as a JWT: it has
// exactly two dots, which an Ory session token never has. Every byte is checked only when
// the token is verified (a cache hit proves it equal to one that was); three IndexByte scans
// cost a fraction of a byte-by-byte walk of a kilobyte token on every request.
func (t *tokenVerifier) bearerJWT(r *Request) (jwt, signature string, ok bool) {
	tok := bearerToken(r.Authorization)
	i := strings.IndexByte(tok, '.')
	if i < 0 {
		return "", "", false
	}
	rest := tok[i+1:]
	j := strings.IndexByte(rest, '.')
	if j < 0 || strings.IndexByte(rest[j+1:], '.') >= 0 {
		return "", "", false
	}
	return tok, rest[j+1:], true
}

// tokenClaims are the claims the verifier reads: the registered ones Kratos sets, and what
// ClaimsMapper adds.
type tokenClaims struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	SessionID string       `json:"sid"`
	Audience  audience     `json:"aud"`
	Expiry    *numericDate `json:"exp"`
	NotBefore *numericDate `json:"nbf"`
	IssuedAt  *numericDate `json:"iat"`

	ACR              string        `json:"acr"`
	AuthTime         *numericDate  `json:"auth_time"`
	SecondFactorTime *numericDate  `json:"second_factor_time"`
	SessionExpiresAt *numericDate  `json:"session_expires_at"`
	Methods          []tokenMethod `json:"authentication_methods"`
	Traits           any           `json:"traits"`
	SchemaID         string        `json:"schema_id"`
}

type tokenMethod struct {
	Method      string       `json:"method"`
	AAL         string       `json:"aal"`
	CompletedAt *numericDate `json:"completed_at"`
}

// audience is aud, a string or an array of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = l
	return nil
}

func (a audience) contains(s string) bool {
	for _, x := range a {
		if x == s {
			return true
		}
	}
	return false
}

// numericDate is a JWT time in Unix nanoseconds; it accepts integer and fractional seconds.
type numericDate int64

// maxNumericDate keeps times within what int64 nanoseconds hold (year 2262).
const maxNumericDate = 9e9

func (d *numericDate) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("a time is not a number")
	}
	if math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return errors.New("a time is out of range")
	}
	*d = numericDate(f * 1e9)
	return nil
}

// keyOf is the token's cache key; a token longer than any Ory mints is refused unhashed.
func (t *tokenVerifier) keyOf(tok, signature string) (tokenHash, error) {
	if len(tok) > maxTokenLen {
		return tokenHash{}, invalidToken("longer than any Ory mints", nil)
	}
	return t.cache.key(tok, signature), nil
}

// verify checks a JWT at now (Unix nanoseconds) and returns its grant: from the cache when
// this verifier has checked the same token before (key is keyOf's), else verified in full.
func (t *tokenVerifier) verify(ctx context.Context, v *Verifier, tok string, key tokenHash, now int64) (*grant, error) {
	if g, ok := t.cache.get(key, now); ok {
		if t.forgets.has(g.session.Id, now) {
			return nil, invalidToken("the session was forgotten on this verifier", nil)
		}
		return g, nil
	}
	ks, err := t.keySet(ctx)
	if err != nil {
		return nil, err
	}
	c, err := ks.verify(tok, func(kid string) (*keySet, bool) {
		if t.remote == nil {
			return nil, false
		}
		return t.remote.refresh(ctx, kid)
	})
	if err != nil {
		return nil, err
	}
	g, until, err := t.check(v, c, key, now)
	if err != nil {
		return nil, err
	}
	if t.forgets.has(g.session.Id, now) {
		return nil, invalidToken("the session was forgotten on this verifier", nil)
	}
	if now < until { // within the leeway past exp a token passes, but is not kept
		t.cache.put(key, g, until)
	}
	return g, nil
}

// keySet returns the keys to verify with, fetching a remote set the first time.
func (t *tokenVerifier) keySet(ctx context.Context) (*keySet, error) {
	if ks := t.keys.Load(); ks != nil {
		return ks, nil
	}
	if t.remote != nil {
		if ks := t.remote.current(); ks != nil {
			return ks, nil
		}
		return t.remote.load(ctx)
	}
	return nil, errors.New("no key set") // unreachable: a static set is parsed in New
}

// verify checks the token's signature with the key its kid names, with that key's algorithm
// only, and returns its claims. When the kid is unknown, refresh may offer a newer set.
func (ks *keySet) verify(tok string, refresh func(kid string) (*keySet, bool)) (*tokenClaims, error) {
	if len(tok) > maxTokenLen || !looksLikeJWT(tok) {
		return nil, invalidToken("not a compact JWS", nil)
	}
	jws, err := jose.ParseSignedCompact(tok, ks.algs)
	if err != nil {
		if refresh != nil {
			// The token's alg may belong to a key the set does not have yet.
			if kid, ok := unverifiedKID(tok); ok {
				if fresh, ok := refresh(kid); ok {
					return fresh.verify(tok, nil)
				}
			}
		}
		return nil, invalidToken("malformed or with an algorithm no key has", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, invalidToken("not exactly one signature", nil)
	}
	h := jws.Signatures[0].Header
	if _, crit := h.ExtraHeaders["crit"]; crit {
		return nil, invalidToken("critical header parameters are not understood", nil)
	}
	k, ok := ks.byKID[h.KeyID]
	if !ok {
		if refresh != nil {
			if fresh, ok := refresh(h.KeyID); ok {
				return fresh.verify(tok, nil)
			}
		}
		return nil, invalidToken("unknown kid", nil)
	}
	if jose.SignatureAlgorithm(h.Algorithm) != k.alg {
		return nil, invalidToken("the algorithm is not the key's", nil)
	}
	payload, err := jws.Verify(k.key)
	if err != nil {
		return nil, invalidToken("bad signature", err)
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, invalidToken("claims do not decode", err)
	}
	return &c, nil
}

// unverifiedKID reads the kid of a token's header, before anything is verified: only to decide
// whether a refresh of the key set may help.
func unverifiedKID(tok string) (string, bool) {
	i := strings.IndexByte(tok, '.')
	if i < 0 {
		return "", false
	}
	var h struct {
		KID string `json:"kid"`
	}
	b, err := base64URL(tok[:i])
	if err != nil || json.Unmarshal(b, &h) != nil {
		return "", false
	}
	return h.KID, true
}

// check applies the claim rules at now and builds the grant the policy reads, with the time
// until which it may be cached: the token's exp, or the session's end if sooner.
func (t *tokenVerifier) check(v *Verifier, c *tokenClaims, key tokenHash, now int64) (*grant, int64, error) {
	leeway := int64(tokenLeeway)
	switch {
	case strings.TrimRight(c.Issuer, "/") != t.issuer || c.Issuer == "":
		return nil, 0, invalidToken("wrong issuer", nil)
	case !c.Audience.contains(t.audience):
		return nil, 0, invalidToken("wrong audience", nil)
	case c.Expiry == nil || c.IssuedAt == nil:
		return nil, 0, invalidToken("no exp or iat", nil)
	case *c.Expiry <= *c.IssuedAt:
		return nil, 0, invalidToken("exp is not after iat (a template without ttl?)", nil)
	case int64(*c.Expiry-*c.IssuedAt) > t.maxTTL:
		return nil, 0, invalidToken("lives longer than MaxTTL", nil)
	case now >= int64(*c.Expiry)+leeway:
		return nil, 0, invalidToken("expired", nil)
	case int64(*c.IssuedAt) > now+leeway:
		return nil, 0, invalidToken("issued in the future", nil)
	case c.NotBefore != nil && int64(*c.NotBefore) > now+leeway:
		return nil, 0, invalidToken("not valid yet", nil)
	case c.SessionID == "" || c.Subject == "":
		return nil, 0, invalidToken("no sid or sub", nil)
	case c.SessionExpiresAt != nil && int64(*c.SessionExpiresAt) <= now:
		return nil, 0, invalidToken("the session has expired", nil)
	}
	aal := ory.AuthenticatorAssuranceLevel(c.ACR)
	rank := aalRank(&aal)
	if rank == 0 {
		return nil, 0, invalidToken("no acr of aal1, aal2 or aal3 (is the template's mapper core.ClaimsMapper?)", nil)
	}
	until := int64(*c.Expiry)
	if c.SessionExpiresAt != nil {
		until = min(until, int64(*c.SessionExpiresAt))
	}
	var authenticatedAt, secondFactorAt int64
	if c.AuthTime != nil {
		authenticatedAt = int64(*c.AuthTime)
	}
	s := &ory.Session{
		Id:                          c.SessionID,
		Active:                      ory.PtrBool(true),
		AuthenticatorAssuranceLevel: &aal,
		Identity:                    &ory.Identity{Id: c.Subject, SchemaId: c.SchemaID, Traits: c.Traits},
	}
	if c.AuthTime != nil {
		s.AuthenticatedAt = c.AuthTime.time()
	}
	if c.SessionExpiresAt != nil {
		s.ExpiresAt = c.SessionExpiresAt.time()
	}
	for _, m := range c.Methods {
		sm := ory.SessionAuthenticationMethod{}
		if m.Method != "" {
			sm.Method = ory.PtrString(m.Method)
		}
		if m.AAL != "" {
			ma := ory.AuthenticatorAssuranceLevel(m.AAL)
			sm.Aal = &ma
		}
		if m.CompletedAt != nil {
			sm.CompletedAt = m.CompletedAt.time()
			if aalRank(sm.Aal) >= 2 {
				secondFactorAt = max(secondFactorAt, int64(*m.CompletedAt))
			}
		}
		s.AuthenticationMethods = append(s.AuthenticationMethods, sm)
	}
	if c.SecondFactorTime != nil {
		secondFactorAt = max(secondFactorAt, int64(*c.SecondFactorTime))
	}
	return v.newTokenGrant(s, rank, authenticatedAt, secondFactorAt, key, until), until, nil
}

func (d numericDate) time() *time.Time {
	t := time.Unix(0, int64(d)).UTC()
	return &t
}

// checkToken decides a request whose credential is a JWT: verified here, never sent to Ory,
// and every denial is an API answer (the client holds a token, not a browser session).
func (g *Guard) checkToken(ctx context.Context, r *Request, tok, signature string) Decision {
	v := g.v
	api := *g
	api.mode = ModeAPI
	invalid := func(err error) Decision {
		if errors.Is(err, ErrUnavailable) {
			return api.deny(r, byToken, Unavailable, err)
		}
		d := api.deny(r, byToken, Login, err)
		d.Header.Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The session JWT is invalid or expired"`)
		return d
	}
	key, err := v.tokens.keyOf(tok, signature)
	if err != nil {
		return invalid(err)
	}
	now := v.tokenNow()
	gr := v.tokenGrantFromContext(ctx, key, now)
	fromContext := gr != nil
	if !fromContext {
		if gr, err = v.tokens.verify(ctx, v, tok, key, now); err != nil {
			return invalid(err)
		}
	}
	// The token is all there is to know: asking Ory again would not change what it says, so
	// a denial rests on it (the client steps up and mints a new one).
	if out, why := g.evaluateToken(gr, now); out != Allow {
		d := api.deny(r, byToken, out, why)
		d.Session = gr.session
		return d
	}
	return Decision{Outcome: Allow, Session: gr.session, FromContext: fromContext, grant: gr, fresh: true}
}
