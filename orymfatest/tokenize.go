package orymfatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/orymfa/orymfa/core"
)

// TokenTemplate is the one tokenizer template the kit knows, as whoami?tokenize_as=<template>
// names it: core.TokenConfig's default.
const TokenTemplate = "orymfa"

// TokenTTL is the ttl of the kit's tokenizer template: each token's exp is its iat plus this.
const TokenTTL = 10 * time.Minute

// tokenizer is the kit's tokenizer template: an ES256 key made for this server, and the
// claims core.ClaimsMapper produces.
type tokenizer struct {
	signer jose.Signer
	public []byte // the public JWK Set
}

// tokenKeys makes the server's signing key on first use. Called with s.mu held.
func (s *Server) tokenKeys() *tokenizer {
	if s.tokens != nil {
		return s.tokens
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		s.tb.Fatalf("orymfatest: generate the tokenizer key: %v", err)
		return nil
	}
	jwk := jose.JSONWebKey{Key: key, KeyID: "orymfatest-" + newUUID(), Algorithm: string(jose.ES256), Use: "sig"}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jwk}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		s.tb.Fatalf("orymfatest: tokenizer signer: %v", err)
		return nil
	}
	public, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk.Public()}})
	if err != nil {
		s.tb.Fatalf("orymfatest: tokenizer JWKS: %v", err)
		return nil
	}
	s.tokens = &tokenizer{signer: signer, public: public}
	return s.tokens
}

// TokenConfig is the core.TokenConfig that verifies the JWTs of [Server.Tokenize]: the
// server's public key set and its issuer (its URL). Put it in core.Config.Tokens next to
// SDKURL: srv.URL.
func (s *Server) TokenConfig() core.TokenConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokenKeys()
	if t == nil {
		return core.TokenConfig{}
	}
	return core.TokenConfig{JWKS: append([]byte(nil), t.public...), Issuer: s.URL + "/"}
}

// Tokenize returns a JWT for token's session, as Kratos's whoami?tokenize_as=orymfa mints it
// with core.ClaimsMapper and a ttl of [TokenTTL]: signed ES256 with the key of
// [Server.TokenConfig]. As in Kratos the AAL check comes first: on a Strict project an aal1
// session of an identity with a second factor gets no token (whoami answers 403), and Tokenize
// fails the test; so does an unknown, revoked or expired session. After a step-up, tokenize
// again: a token keeps the AAL it was minted with.
func (s *Server) Tokenize(token string) string {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.liveSession("Tokenize", token)
	if se == nil {
		return ""
	}
	if !s.lax && se.aal() == AAL1 && se.identity.secondFactor {
		s.tb.Fatalf("orymfatest: Tokenize: whoami answers 403 session_aal2_required for this aal1 session (the identity has a second factor): step up first")
		return ""
	}
	jwt, err := s.mint(se, time.Now())
	if err != nil {
		s.tb.Fatalf("orymfatest: Tokenize: %v", err)
	}
	return jwt
}

// mint signs se's claims at now. Called with s.mu held.
func (s *Server) mint(se *sessionRecord, now time.Time) (string, error) {
	t := s.tokenKeys()
	if t == nil {
		return "", nil
	}
	b, err := json.Marshal(tokenClaims(se, s.URL+"/", now))
	if err != nil {
		return "", err
	}
	jws, err := t.signer.Sign(b)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// tokenClaims are Kratos's claims (jti, iss, exp, sub, sid, nbf, iat, in whole seconds) with
// core.ClaimsMapper's on top. The mapper drops the fractions of the session's times.
func tokenClaims(se *sessionRecord, issuer string, now time.Time) map[string]any {
	iat := now.Unix()
	type method struct {
		Method      string `json:"method"`
		AAL         AAL    `json:"aal"`
		CompletedAt int64  `json:"completed_at"`
	}
	methods := make([]method, len(se.methods))
	amr := make([]string, len(se.methods))
	var second int64
	for i, m := range se.methods {
		methods[i] = method{Method: m.Method, AAL: m.AAL, CompletedAt: m.CompletedAt.Unix()}
		amr[i] = m.Method
		if m.AAL != AAL1 {
			second = max(second, m.CompletedAt.Unix())
		}
	}
	c := map[string]any{
		"jti": newUUID(),
		"iss": issuer,
		"exp": now.Add(TokenTTL).Unix(),
		"sub": se.identity.id,
		"sid": se.id,
		"nbf": iat,
		"iat": iat,

		"aud":                    "orymfa",
		"acr":                    se.aal(),
		"amr":                    amr,
		"auth_time":              se.authenticatedAt.Unix(),
		"session_expires_at":     se.expiresAt.Unix(),
		"authentication_methods": methods,
	}
	if second != 0 {
		c["second_factor_time"] = second
	}
	return c
}

// tokenizeError is Kratos's 400 for a tokenize_as naming a template it does not have.
func tokenizeError(template string) kratosError {
	return kratosError{Error: kratosErrorBody{
		Code:    http.StatusBadRequest,
		Status:  http.StatusText(http.StatusBadRequest),
		Reason:  `Unable to find tokenizer template "` + template + `".`,
		Message: "The request was malformed or contained invalid parameters",
	}}
}
