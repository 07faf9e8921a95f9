package kratostest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/orymfa/orymfa/core"
)

// TokenTemplate is the tokenizer template every project has: an ES256 key made for the
// project, core.ClaimsMapper and a ttl of [TokenTTL].
const TokenTemplate = "orymfa"

// TokenTTL is the ttl of [TokenTemplate].
const TokenTTL = 10 * time.Minute

// ProbeTemplate mints with core.ClaimsMapper reading [ProbeSession] instead of the session
// (its std.extVar('session') replaced by that document): a test sees in the claims how the
// mapper converts times Kratos's clock will never produce (offsets, fractions, a leap day).
const ProbeTemplate = "orymfa-probe"

// NoTTLTemplate is [TokenTemplate] without a ttl, as a configuration that forgets it reads:
// Kratos v1.3.1 then mints tokens with exp == iat, born expired, whatever its schema's
// default says.
const NoTTLTemplate = "orymfa-no-ttl"

// ProbeSession is the session document ProbeTemplate's mapper reads, and ProbeClaims the
// times it must become, in Unix seconds, computed by Go's time package.
const ProbeSession = `{"authenticator_assurance_level":"aal2",` +
	`"authenticated_at":"2024-02-29T23:59:59.999999999+02:00",` +
	`"expires_at":"2028-02-29T12:00:00Z",` +
	`"authentication_methods":[` +
	`{"method":"password","aal":"aal1","completed_at":"2024-02-29T18:29:59.5-05:30"},` +
	`{"method":"totp","aal":"aal2","completed_at":"2024-03-01T00:00:00.000001Z"},` +
	`{"method":"lookup_secret","aal":"aal2","completed_at":"1999-12-31T23:59:59+14:00"}]}`

// tokenizer is a project's signing key: the private set Kratos reads, the public one apps get.
type tokenizer struct {
	private, public []byte
}

func newTokenizer() (*tokenizer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("kratostest: tokenizer key: %w", err)
	}
	jwk := jose.JSONWebKey{Key: key, KeyID: "kratostest-" + base64.RawURLEncoding.EncodeToString(key.PublicKey.X.Bytes()[:6]), Algorithm: string(jose.ES256), Use: "sig"}
	t := &tokenizer{}
	if t.private, err = json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}}); err != nil {
		return nil, fmt.Errorf("kratostest: %w", err)
	}
	if t.public, err = json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk.Public()}}); err != nil {
		return nil, fmt.Errorf("kratostest: %w", err)
	}
	return t, nil
}

// templates is session.whoami.tokenizer.templates: the private set and the mappers inline
// (base64://), so the project needs no file and no server for them.
func (t *tokenizer) templates() (map[string]any, error) {
	jwks := "base64://" + base64.StdEncoding.EncodeToString(t.private)
	probe := strings.Replace(core.ClaimsMapper, "std.extVar('session')", ProbeSession, 1)
	if probe == core.ClaimsMapper {
		return nil, fmt.Errorf("kratostest: core.ClaimsMapper no longer reads std.extVar('session')")
	}
	return map[string]any{
		TokenTemplate: map[string]any{
			"ttl":               TokenTTL.String(),
			"jwks_url":          jwks,
			"claims_mapper_url": "base64://" + base64.StdEncoding.EncodeToString([]byte(core.ClaimsMapper)),
		},
		NoTTLTemplate: map[string]any{
			"jwks_url":          jwks,
			"claims_mapper_url": "base64://" + base64.StdEncoding.EncodeToString([]byte(core.ClaimsMapper)),
		},
		ProbeTemplate: map[string]any{
			"ttl":               TokenTTL.String(),
			"jwks_url":          jwks,
			"claims_mapper_url": "base64://" + base64.StdEncoding.EncodeToString([]byte(probe)),
		},
	}, nil
}

// TokenConfig is the core.TokenConfig that verifies the project's tokens: its public key
// set and its issuer (Kratos writes its public base URL, with a trailing slash).
func (p *Project) TokenConfig() core.TokenConfig {
	return core.TokenConfig{JWKS: append([]byte(nil), p.tokens.public...), Issuer: p.PublicURL + "/"}
}

// Tokenize asks Kratos for a JWT of token's session with the template
// (whoami?tokenize_as=<template>) and returns whoami's status, the JWT ("" unless 200) and
// the body.
func (p *Project) Tokenize(ctx context.Context, token, template string) (int, string, []byte, error) {
	status, b, err := request(ctx, p.client, http.MethodGet, p.PublicURL+"/sessions/whoami?tokenize_as="+url.QueryEscape(template), apiAgent{p, token}.header(), nil)
	if err != nil || status != http.StatusOK {
		return status, "", b, err
	}
	var s struct {
		Tokenized string `json:"tokenized"`
	}
	if err := json.Unmarshal(b, &s); err != nil || s.Tokenized == "" {
		return status, "", b, fmt.Errorf("kratostest: whoami?tokenize_as=%s: no tokenized session in %s", template, b)
	}
	return status, s.Tokenized, b, nil
}
