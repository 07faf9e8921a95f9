package core

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fuzzKey is the one trusted key of FuzzTokenVerify, fixed so that its seeds verify on every
// run (a P-256 key from a fixed scalar).
var fuzzKey = func() *ecdsa.PrivateKey {
	d := new(big.Int).SetBytes(sha256.New().Sum([]byte("orymfa fuzz key")))
	d.Mod(d, elliptic.P256().Params().N)
	k := &ecdsa.PrivateKey{D: d}
	k.PublicKey.Curve = elliptic.P256()
	k.PublicKey.X, k.PublicKey.Y = elliptic.P256().ScalarBaseMult(d.Bytes())
	return k
}()

const (
	fuzzKID    = "k1"
	fuzzIssuer = "https://ory.example"
)

var fuzzTime = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// fuzzSign signs header.payload with fuzzKey, as any ES256 signer does.
func fuzzSign(t testing.TB, header, payload string) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	sum := sha256.Sum256([]byte(h))
	r, s, err := ecdsa.Sign(rand.Reader, fuzzKey, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return h + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// FuzzTokenVerify checks the JWT verifier (go-jose plus the claim rules) against an
// independent oracle written from RFC 7515/7519 with the standard library only: base64url
// parts, a header that is a JSON object without duplicate names whose alg is exactly ES256
// and kid the trusted one and that has no crit, a 64-byte r||s signature that crypto/ecdsa
// accepts over SHA-256 of the first two parts, and claims that pass the same rules as
// written in DESIGN.md (iss, aud, exp/iat/nbf with 30 s leeway, exp-iat ≤ 1 h, sid, sub, acr
// aal1-3). When both accept, they must agree on the session and the AAL. Fuzzed inputs are
// a header and a payload (signed with the trusted key, so the claim rules are reached) and
// a whole token (which must almost always fail the signature).
func FuzzTokenVerify(f *testing.F) {
	now := fuzzTime / 1e9
	good := `{"iss":"https://ory.example/","sub":"i1","sid":"s1","aud":"orymfa","iat":` + itoa(now) + `,"nbf":` + itoa(now) + `,"exp":` + itoa(now+600) + `,"acr":"aal2","auth_time":` + itoa(now-5) + `,"authentication_methods":[{"method":"password","aal":"aal1","completed_at":` + itoa(now-10) + `},{"method":"totp","aal":"aal2","completed_at":` + itoa(now-5) + `}]}`
	hdr := `{"alg":"ES256","kid":"k1","typ":"JWT"}`
	for _, seed := range []struct{ header, payload, token string }{
		{hdr, good, ""},
		{hdr, strings.Replace(good, `"aal2"`, `"aal1"`, 1), ""},
		{hdr, strings.Replace(good, `"orymfa"`, `["x","orymfa"]`, 1), ""},
		{hdr, strings.Replace(good, `"orymfa"`, `"other"`, 1), ""},
		{hdr, strings.Replace(good, itoa(now+600), itoa(now+7200), 1), ""},
		{hdr, strings.Replace(good, itoa(now+600), itoa(now-600), 1), ""},
		{hdr, strings.Replace(good, itoa(now+600), "1e400", 1), ""},
		{hdr, strings.Replace(good, itoa(now+600), `"soon"`, 1), ""},
		{hdr, good + " x", ""},
		{hdr, strings.Replace(good, `"sid":"s1"`, `"sid":"s1","sid":"s2"`, 1), ""},
		{`{"alg":"ES256","kid":"k1","alg":"none"}`, good, ""},
		{`{"alg":"ES256","kid":"k1","ALG":"none"}`, good, ""},
		{`{"alg":"ES256","kid":"k1","crit":["b64"],"b64":false}`, good, ""},
		{`{"alg":"ES256","kid":"k1","b64":false}`, good, ""},
		{`{"alg":"ES256","kid":"k2"}`, good, ""},
		{`{"alg":"ES384","kid":"k1"}`, good, ""},
		{`{"alg":"none","kid":"k1"}`, good, ""},
		{`{"alg":"HS256","kid":"k1"}`, good, ""},
		{`["ES256"]`, good, ""},
		{"", "", "e30.e30."},
		{"", "", "eyJhbGciOiJub25lIn0.e30."},
		{"", "", "a.b.c"},
		{"", "", "...."},
	} {
		f.Add(seed.header, seed.payload, seed.token)
	}
	pub, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &fuzzKey.PublicKey, KeyID: fuzzKID, Algorithm: "ES256", Use: "sig"}}})
	ks, err := parseJWKS(pub)
	if err != nil {
		f.Fatal(err)
	}
	tv := &tokenVerifier{issuer: fuzzIssuer, audience: defaultTokenAudience, maxTTL: int64(time.Hour), forgets: &forgetList{}}
	v := &Verifier{}
	f.Fuzz(func(t *testing.T, header, payload, token string) {
		if token == "" {
			token = fuzzSign(t, header, payload)
		}
		var got *grant
		c, err := ks.verify(token, nil)
		if err == nil {
			got, _, err = tv.check(v, c, tokenHash{}, fuzzTime)
		}
		want, why := oracle(token, fuzzTime)
		switch {
		case (err == nil) != (want != nil):
			t.Fatalf("verifier: %v; oracle: %v (%s)\ntoken %s", err, want, why, token)
		case err != nil && !errors.Is(err, ErrInvalidToken):
			t.Fatalf("a refusal that is not ErrInvalidToken: %v", err)
		case err == nil && (got.session.Id != want.sid || got.session.Identity.Id != want.sub || got.aal != want.aal):
			t.Fatalf("verifier: %s %s %d; oracle: %+v", got.session.Id, got.session.Identity.Id, got.aal, want)
		}
	})
}

func itoa(n int64) string { return big.NewInt(n).String() }

type oracleResult struct {
	sid, sub string
	aal      int8
}

// oracle verifies token at now (Unix nanoseconds) without go-jose and without the verifier's
// code: nil and the rule that failed when it must be refused.
func oracle(token string, now int64) (*oracleResult, string) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(token) > 8192 {
		return nil, "not three parts"
	}
	var raw [3][]byte
	for i, p := range parts {
		if strings.ContainsAny(p, "+/=") {
			return nil, "not base64url"
		}
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			return nil, "not base64url"
		}
		raw[i] = b
	}
	header, ok := uniqueObject(raw[0])
	if !ok {
		return nil, "header is not a JSON object with unique names"
	}
	if header["alg"] != "ES256" || header["kid"] != fuzzKID {
		return nil, "alg or kid"
	}
	if _, ok := header["crit"]; ok {
		return nil, "crit"
	}
	if b64, ok := header["b64"]; ok && b64 != true {
		return nil, "unencoded payload"
	}
	if len(raw[2]) != 64 {
		return nil, "signature length"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(raw[2][:32]), new(big.Int).SetBytes(raw[2][32:])
	if !ecdsa.Verify(&fuzzKey.PublicKey, sum[:], r, s) {
		return nil, "signature"
	}

	var c map[string]any
	d := json.NewDecoder(bytes.NewReader(raw[1]))
	d.UseNumber()
	if err := d.Decode(&c); err != nil || c == nil || d.More() {
		return nil, "claims are not one JSON object"
	}
	if _, err := d.Token(); err == nil {
		return nil, "trailing data"
	}
	str := func(name string) (string, bool) {
		switch v := c[name].(type) {
		case nil:
			return "", true
		case string:
			return v, true
		}
		return "", false
	}
	num := func(name string) (float64, bool, bool) { // value, present, well-formed
		switch v := c[name].(type) {
		case nil:
			return 0, false, true
		case json.Number:
			f, err := v.Float64()
			if err != nil || math.IsNaN(f) || f < 0 || f > 9e9 {
				return 0, false, false
			}
			return f, true, true
		}
		return 0, false, false
	}
	for _, name := range []string{"iss", "sub", "sid", "acr", "schema_id"} {
		if _, ok := str(name); !ok {
			return nil, name + " is not a string"
		}
	}
	times := map[string]float64{}
	present := map[string]bool{}
	for _, name := range []string{"exp", "iat", "nbf", "auth_time", "second_factor_time", "session_expires_at"} {
		f, p, ok := num(name)
		if !ok {
			return nil, name + " is not a time"
		}
		times[name], present[name] = f, p
	}
	if m, ok := c["authentication_methods"]; ok && m != nil {
		list, ok := m.([]any)
		if !ok {
			return nil, "methods are not a list"
		}
		for _, e := range list {
			if e == nil {
				continue
			}
			o, ok := e.(map[string]any)
			if !ok {
				return nil, "a method is not an object"
			}
			for _, k := range []string{"method", "aal"} {
				if v, ok := o[k]; ok && v != nil {
					if _, ok := v.(string); !ok {
						return nil, "a method's " + k + " is not a string"
					}
				}
			}
			if v, ok := o["completed_at"]; ok && v != nil {
				n, ok := v.(json.Number)
				f, err := n.Float64()
				if !ok || err != nil || f < 0 || f > 9e9 {
					return nil, "completed_at is not a time"
				}
			}
		}
	}
	audOK := false
	switch a := c["aud"].(type) {
	case string:
		audOK = a == "orymfa"
	case []any:
		for _, e := range a {
			s, ok := e.(string)
			if !ok && e != nil {
				return nil, "aud has a non-string"
			}
			audOK = audOK || s == "orymfa"
		}
	case nil:
	default:
		return nil, "aud is not a string or list"
	}
	iss, _ := str("iss")
	sid, _ := str("sid")
	sub, _ := str("sub")
	acr, _ := str("acr")
	ns := func(f float64) int64 { return int64(f * 1e9) }
	switch {
	case strings.TrimRight(iss, "/") != fuzzIssuer:
		return nil, "iss"
	case !audOK:
		return nil, "aud"
	case !present["exp"] || !present["iat"]:
		return nil, "exp or iat missing"
	case ns(times["exp"]) <= ns(times["iat"]):
		return nil, "exp not after iat"
	case ns(times["exp"])-ns(times["iat"]) > int64(time.Hour):
		return nil, "ttl"
	case now >= ns(times["exp"])+int64(30*time.Second):
		return nil, "expired"
	case ns(times["iat"]) > now+int64(30*time.Second):
		return nil, "iat in the future"
	case present["nbf"] && ns(times["nbf"]) > now+int64(30*time.Second):
		return nil, "nbf"
	case sid == "" || sub == "":
		return nil, "sid or sub"
	case present["session_expires_at"] && ns(times["session_expires_at"]) <= now:
		return nil, "session expired"
	}
	aal := map[string]int8{"aal1": 1, "aal2": 2, "aal3": 3}[acr]
	if aal == 0 {
		return nil, "acr"
	}
	return &oracleResult{sid: sid, sub: sub, aal: aal}, ""
}

// uniqueObject decodes a JSON object whose member names are all distinct (RFC 7515 §5.2: a
// header with duplicate names must be refused or read with only the last; refusing is safe).
func uniqueObject(b []byte) (map[string]any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	m := map[string]any{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, false
		}
		k, _ := t.(string)
		if _, dup := m[k]; dup {
			return nil, false
		}
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, false
		}
		m[k] = v
	}
	if t, err := d.Token(); err != nil || t != json.Delim('}') {
		return nil, false
	}
	if _, err := d.Token(); err == nil {
		return nil, false
	}
	return m, true
}
