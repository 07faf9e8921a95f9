package core

import _ "embed" // the claims mapper is a Jsonnet file, kept as such so editors and linters read it

// ClaimsMapper is the Jsonnet claims mapper for the tokenizer template whose JWTs a verifier in
// JWT mode accepts (see [TokenConfig]). Configure it as the template's claims_mapper_url, as
// base64://<the mapper in standard base64>. Kratos sets iss, sub, sid, jti, iat, nbf and exp;
// the mapper adds, with times in Unix seconds:
//
//   - aud: "orymfa" (the verifier's default [TokenConfig.Audience]);
//   - acr: the session's authenticator assurance level ("aal1", "aal2");
//   - amr: the methods used ("password", "totp", …);
//   - auth_time: authenticated_at, when the last factor was proven;
//   - second_factor_time: the newest completion of an aal2 method (absent without one);
//   - session_expires_at: when the Ory session expires;
//   - authentication_methods: each method with its aal and completed_at.
//
// It reads no identity traits, so it works with any identity schema. A mapper of your own
// may add traits (as a "traits" object, which the handler's session then carries in
// Identity.Traits) and must keep these claims.
//
//go:embed claims_mapper.jsonnet
var ClaimsMapper string
