package faithful_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/kratostest"
	"github.com/orymfa/orymfa/orymfatest"
)

// minted is what must be the same when the kit and a real Kratos mint a JWT for the same
// situation (whoami?tokenize_as=<template>). Ids and times are reduced to their relations.
type minted struct {
	Status      int
	ErrorBody   string // the error body, base URL replaced by {URL}
	TopKeys     []string
	Header      map[string]string // alg, typ; kid present
	ClaimKeys   []string
	MethodKeys  []string
	Claims      map[string]any // aud, acr, amr, method aals
	Relations   map[string]bool
	Verified    bool   // the verifier in JWT mode accepts it with the project's TokenConfig
	VerifiedAAL string // and hands the handler this AAL
}

var uuidShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func mint(t *testing.T, baseURL string, tc core.TokenConfig, token, template string, compareMethods bool) minted {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, baseURL+"/sessions/whoami?tokenize_as="+template, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Session-Token", token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := minted{Status: res.StatusCode}
	if res.StatusCode != http.StatusOK {
		m.ErrorBody = strings.ReplaceAll(strings.TrimSpace(string(b)), baseURL, "{URL}")
		return m
	}
	var doc struct {
		ID        string    `json:"id"`
		AuthAt    time.Time `json:"authenticated_at"`
		ExpiresAt time.Time `json:"expires_at"`
		Tokenized string    `json:"tokenized"`
		Identity  struct {
			ID string `json:"id"`
		} `json:"identity"`
		Methods []struct {
			AAL         string    `json:"aal"`
			CompletedAt time.Time `json:"completed_at"`
		} `json:"authentication_methods"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	m.TopKeys = keys(t, b)
	parts := strings.Split(doc.Tokenized, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", doc.Tokenized)
	}
	var header map[string]any
	var claims map[string]any
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			m.ClaimKeys = keys(t, raw)
		}
	}
	m.Header = map[string]string{"alg": header["alg"].(string), "typ": header["typ"].(string)}
	if kid, _ := header["kid"].(string); kid != "" {
		m.Header["kid"] = "present"
	}
	methods, _ := claims["authentication_methods"].([]any)
	if len(methods) > 0 {
		raw, _ := json.Marshal(methods[0])
		m.MethodKeys = keys(t, raw)
	}
	var aals []any
	var second float64
	completed := true
	for i, e := range methods {
		mm := e.(map[string]any)
		aals = append(aals, mm["aal"])
		if i < len(doc.Methods) && mm["completed_at"] != float64(doc.Methods[i].CompletedAt.Unix()) {
			completed = false
		}
		if mm["aal"] == "aal2" {
			second = max(second, mm["completed_at"].(float64))
		}
	}
	m.Claims = map[string]any{"aud": claims["aud"], "acr": claims["acr"], "method_aals": aals}
	if compareMethods {
		m.Claims["amr"] = claims["amr"]
	}
	num := func(k string) float64 { f, _ := claims[k].(float64); return f }
	jti, _ := claims["jti"].(string)
	_, hasSecond := claims["second_factor_time"]
	m.Relations = map[string]bool{
		"iss is the base URL with a slash":            claims["iss"] == baseURL+"/",
		"sub is the identity":                         claims["sub"] == doc.Identity.ID,
		"sid is the session":                          claims["sid"] == doc.ID,
		"jti is a UUID":                               uuidShape.MatchString(jti),
		"nbf = iat":                                   num("nbf") == num("iat"),
		"exp - iat = ttl":                             num("exp")-num("iat") == orymfatest.TokenTTL.Seconds(),
		"iat is now":                                  time.Since(time.Unix(int64(num("iat")), 0)).Abs() < time.Minute,
		"auth_time = authenticated_at":                num("auth_time") == float64(doc.AuthAt.Unix()),
		"session_expires_at = expires_at":             num("session_expires_at") == float64(doc.ExpiresAt.Unix()),
		"completed_at = each method's":                completed && len(methods) == len(doc.Methods),
		"second_factor_time = newest aal2 completion": (second == 0 && !hasSecond) || num("second_factor_time") == second,
	}

	v, err := core.New(core.Config{SDKURL: baseURL, AppURL: "http://127.0.0.1", Tokens: tc})
	if err != nil {
		t.Fatal(err)
	}
	g, err := core.NewGuard(core.RequireSession, core.WithVerifier(v))
	if err != nil {
		t.Fatal(err)
	}
	d := g.Check(t.Context(), &core.Request{Authorization: "Bearer " + doc.Tokenized})
	m.Verified = d.Allowed()
	if d.Allowed() {
		m.VerifiedAAL = string(d.Session.GetAuthenticatorAssuranceLevel())
	}
	return m
}

// sameMint asserts that Kratos and the kit mint alike, and that the answer is the expected one.
func sameMint(t *testing.T, name string, want, got minted, status int, acr string) {
	t.Helper()
	if want.Status != status || (status == http.StatusOK && want.Claims["acr"] != acr) {
		t.Errorf("%s: Kratos answered %d %v, the scenario expects %d %s", name, want.Status, want.Claims["acr"], status, acr)
	}
	for k, ok := range want.Relations {
		if !ok {
			t.Errorf("%s: Kratos's token breaks %q", name, k)
		}
	}
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			t.Errorf("%s: %s differs\nkit:    %#v\nkratos: %#v", name, g.Type().Field(i).Name, g.Field(i).Interface(), w.Field(i).Interface())
		}
	}
}

// TestTokenizeFaithfulToKratos mints JWTs with a real Kratos v1.3.1 (the test bed's template:
// core.ClaimsMapper, ttl 10m) and with the kit side by side, in the situations a front end
// meets. -short skips it.
func TestTokenizeFaithfulToKratos(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real Kratos processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var (
		totp, code *kratostest.Project
		errs       [2]error
		wg         sync.WaitGroup
	)
	wg.Go(func() { totp, errs[0] = kratostest.Start(ctx, kratostest.TOTP) })
	wg.Go(func() { code, errs[1] = kratostest.Start(ctx, kratostest.CodeMFA) })
	wg.Wait()
	for _, p := range []*kratostest.Project{totp, code} {
		if p != nil {
			t.Cleanup(p.Close)
		}
	}
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	kit := orymfatest.NewServer(t)
	K := func(p *kratostest.Project, token, template string, methods bool) minted {
		return mint(t, p.PublicURL, p.TokenConfig(), token, template, methods)
	}
	F := func(token, template string, methods bool) minted {
		return mint(t, kit.URL, kit.TokenConfig(), token, template, methods)
	}
	pw := kratostest.Password

	email := kratostest.NewEmail()
	kTok, err := totp.RegisterAPI(ctx, email, pw)
	must(err)
	user := kit.NewIdentity()
	fTok := kit.SignIn(user, orymfatest.AAL1)
	sameMint(t, "aal1 without a second factor", K(totp, kTok, "orymfa", true), F(fTok, "orymfa", true), 200, "aal1")
	sameMint(t, "an unknown template", K(totp, kTok, "nope", true), F(fTok, "nope", true), 400, "")

	secret, err := totp.EnrollTOTPAPI(ctx, kTok)
	must(err)
	kit.StepUp(fTok)
	sameMint(t, "aal2 after TOTP enrollment", K(totp, kTok, "orymfa", true), F(fTok, "orymfa", true), 200, "aal2")

	kTok2, err := totp.LoginAPI(ctx, email, pw)
	must(err)
	fTok2 := kit.SignIn(user, orymfatest.AAL1)
	sameMint(t, "aal1 with a second factor: no token", K(totp, kTok2, "orymfa", true), F(fTok2, "orymfa", true), 403, "")
	must(totp.StepUpTOTPAPI(ctx, kTok2, secret))
	kit.StepUp(fTok2)
	sameMint(t, "aal2 after step-up", K(totp, kTok2, "orymfa", true), F(fTok2, "orymfa", true), 200, "aal2")

	codeEmail := kratostest.NewEmail()
	kCode, err := code.RegisterAPI(ctx, codeEmail, pw)
	must(err)
	fCode := kit.SignIn(kit.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	sameMint(t, "code: aal1 with a second factor: no token", K(code, kCode, "orymfa", false), F(fCode, "orymfa", false), 403, "")
	must(code.StepUpCodeAPI(ctx, kCode, codeEmail))
	kit.StepUp(fCode)
	sameMint(t, "code: aal2 after step-up", K(code, kCode, "orymfa", false), F(fCode, "orymfa", false), 200, "aal2")
}
