package faithful_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orymfa/orymfa/internal/kratostest"
	"github.com/orymfa/orymfa/orymfatest"
)

// observation is what must be the same when the kit and a real Kratos see the same situation.
// Values that differ by nature (ids, times, the base URL) are reduced to their shape.
type observation struct {
	Status       int
	ErrorID      string
	ErrorBody    string // the whole error body, base URL replaced by {URL}
	Headers      map[string]string
	IdentityHdr  bool // X-Kratos-Authenticated-Identity-Id equals identity.id
	AAL          string
	TopKeys      []string
	IdentityKeys []string
	MethodKeys   []string
	DeviceKeys   []string
	MethodAALs   []string // authentication_methods[].aal, in order
	Methods      []string // authentication_methods[].method, unless the projects' second factors differ
	// AuthenticatedAtLast: authenticated_at is at or after every completed_at (a login or
	// step-up sets it; a TOTP enrollment does not).
	AuthenticatedAtLast bool
	Identity            map[string]string // schema_id, schema_url ({URL}), state, metadata_public, organization_id
	Active, NotExpired  bool
}

func observe(t *testing.T, baseURL string, hdr http.Header, compareMethods bool) observation {
	t.Helper()
	status, h, b := whoami(t, baseURL, hdr)
	o := observation{Status: status, Headers: map[string]string{}}
	for _, k := range []string{"Content-Type", "Cache-Control", "Vary", "Ory-Error-Id", "Ory-Session-Cache-For"} {
		o.Headers[k] = h.Get(k)
	}
	if status != http.StatusOK {
		o.ErrorID = decode(t, b).Error.ID
		o.ErrorBody = strings.ReplaceAll(string(bytes.TrimSpace(b)), baseURL, "{URL}")
		o.IdentityHdr = h.Get("X-Kratos-Authenticated-Identity-Id") != ""
		return o
	}
	var doc struct {
		Active    bool      `json:"active"`
		ExpiresAt time.Time `json:"expires_at"`
		AuthAt    time.Time `json:"authenticated_at"`
		AAL       string    `json:"authenticator_assurance_level"`
		Methods   []struct {
			Method      string    `json:"method"`
			AAL         string    `json:"aal"`
			CompletedAt time.Time `json:"completed_at"`
		} `json:"authentication_methods"`
		Identity json.RawMessage   `json:"identity"`
		Devices  []json.RawMessage `json:"devices"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	var raw struct {
		Methods []json.RawMessage `json:"authentication_methods"`
	}
	_ = json.Unmarshal(b, &raw)
	var ident struct {
		ID             string          `json:"id"`
		SchemaID       string          `json:"schema_id"`
		SchemaURL      string          `json:"schema_url"`
		State          string          `json:"state"`
		MetadataPublic json.RawMessage `json:"metadata_public"`
		OrganizationID json.RawMessage `json:"organization_id"`
	}
	_ = json.Unmarshal(doc.Identity, &ident)

	o.IdentityHdr = h.Get("X-Kratos-Authenticated-Identity-Id") == ident.ID
	o.AAL = doc.AAL
	o.TopKeys = keys(t, b)
	o.IdentityKeys = keys(t, doc.Identity)
	if len(raw.Methods) > 0 {
		o.MethodKeys = keys(t, raw.Methods[0])
	}
	if len(doc.Devices) > 0 {
		o.DeviceKeys = keys(t, doc.Devices[0])
	}
	o.AuthenticatedAtLast = true
	for _, m := range doc.Methods {
		o.MethodAALs = append(o.MethodAALs, m.AAL)
		if compareMethods {
			o.Methods = append(o.Methods, m.Method)
		}
		if doc.AuthAt.Before(m.CompletedAt) {
			o.AuthenticatedAtLast = false
		}
	}
	o.Identity = map[string]string{
		"schema_id":       ident.SchemaID,
		"schema_url":      strings.ReplaceAll(ident.SchemaURL, baseURL, "{URL}"),
		"state":           ident.State,
		"metadata_public": string(ident.MetadataPublic),
		"organization_id": string(ident.OrganizationID),
	}
	o.Active, o.NotExpired = doc.Active, doc.ExpiresAt.After(time.Now())
	return o
}

// side is one whoami request: where, and with which credential.
type side struct {
	url string
	hdr http.Header
}

// same asserts that Kratos and the kit answer alike, and that the answer is the expected one.
func same(t *testing.T, name string, kratos, kit side, status int, aal string, compareMethods bool) {
	t.Helper()
	want := observe(t, kratos.url, kratos.hdr, compareMethods)
	got := observe(t, kit.url, kit.hdr, compareMethods)
	if want.Status != status || (status == 200 && want.AAL != aal) {
		t.Errorf("%s: Kratos answered %d %s, the scenario expects %d %s", name, want.Status, want.AAL, status, aal)
	}
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			t.Errorf("%s: %s differs\nkit:    %#v\nkratos: %#v", name, g.Type().Field(i).Name, g.Field(i).Interface(), w.Field(i).Interface())
		}
	}
}

func cookieHeader(c *http.Cookie) http.Header {
	h := http.Header{}
	h.Set("Cookie", c.Name+"="+c.Value)
	return h
}

func bearerHeader(token string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	return h
}

// logout ends a Kratos session as an API client does.
func logout(ctx context.Context, t *testing.T, p *kratostest.Project, token string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"session_token": token})
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, p.PublicURL+"/self-service/logout/api", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", res.StatusCode)
	}
}

// TestFaithfulToKratos runs each situation of the behaviour table against a real Kratos
// v1.3.1 and the kit side by side. It needs the Kratos binary ($ORYMFA_KRATOS_BIN, or
// scripts/build-kratos.sh builds it), so -short skips it.
func TestFaithfulToKratos(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real Kratos processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a first run may build Kratos
	defer cancel()

	// Three projects, started side by side (about a second each).
	var (
		totp, code, lax *kratostest.Project
		errs            [3]error
		wg              sync.WaitGroup
	)
	wg.Go(func() { totp, errs[0] = kratostest.Start(ctx, kratostest.TOTP) })
	wg.Go(func() { code, errs[1] = kratostest.Start(ctx, kratostest.CodeMFA) })
	wg.Go(func() { lax, errs[2] = kratostest.Start(ctx, kratostest.TOTP, kratostest.WithLax()) })
	wg.Wait()
	for _, p := range []*kratostest.Project{totp, code, lax} {
		if p != nil {
			t.Cleanup(p.Close)
		}
	}
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	kit := orymfatest.NewServer(t)
	kitLax := orymfatest.NewServer(t)
	kitLax.SetLax(true)
	K := func(p *kratostest.Project, h http.Header) side { return side{p.PublicURL, h} }
	F := func(s *orymfatest.Server, h http.Header) side { return side{s.URL, h} }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	pw := kratostest.Password

	// No valid credential.
	same(t, "no credential", K(totp, nil), F(kit, nil), 401, "", true)
	unknown := "ory_st_abcdefghijklmnopqrstuvwxyz012345"
	same(t, "unknown token", K(totp, tokenHeader(unknown)), F(kit, tokenHeader(unknown)), 401, "", true)
	garbage := cookieHeader(&http.Cookie{Name: "ory_kratos_session", Value: "garbage"})
	same(t, "undecodable cookie", K(totp, garbage), F(kit, garbage), 401, "", true)

	// TOTP project: a new user has no second factor.
	email := kratostest.NewEmail()
	kTok, err := totp.RegisterAPI(ctx, email, pw)
	must(err)
	user := kit.NewIdentity()
	fTok := kit.SignIn(user, orymfatest.AAL1)
	same(t, "aal1 without a second factor", K(totp, tokenHeader(kTok)), F(kit, tokenHeader(fTok)), 200, "aal1", true)
	same(t, "Authorization: Bearer", K(totp, bearerHeader(kTok)), F(kit, bearerHeader(fTok)), 200, "aal1", true)

	// Enrolling TOTP upgrades the same session at once.
	secret, err := totp.EnrollTOTPAPI(ctx, kTok)
	must(err)
	kit.StepUp(fTok)
	same(t, "aal2 after TOTP enrollment", K(totp, tokenHeader(kTok)), F(kit, tokenHeader(fTok)), 200, "aal2", true)

	// A new password login of that user now needs the second factor.
	kTok2, err := totp.LoginAPI(ctx, email, pw)
	must(err)
	fTok2 := kit.SignIn(user, orymfatest.AAL1)
	same(t, "aal1 with a second factor (TOTP)", K(totp, tokenHeader(kTok2)), F(kit, tokenHeader(fTok2)), 403, "", true)

	// Step-up with TOTP on the same token, then a refresh.
	must(totp.StepUpTOTPAPI(ctx, kTok2, secret))
	kit.StepUp(fTok2)
	same(t, "aal2 after step-up", K(totp, tokenHeader(kTok2)), F(kit, tokenHeader(fTok2)), 200, "aal2", true)
	must(totp.RefreshTOTPAPI(ctx, kTok2, secret))
	kit.StepUp(fTok2)
	same(t, "aal2 after refresh", K(totp, tokenHeader(kTok2)), F(kit, tokenHeader(fTok2)), 200, "aal2", true)

	// Logout.
	logout(ctx, t, totp, kTok2)
	kit.Revoke(fTok2)
	same(t, "revoked", K(totp, tokenHeader(kTok2)), F(kit, tokenHeader(fTok2)), 401, "", true)

	// A browser session cookie.
	b := totp.NewBrowser()
	must(b.Register(ctx, kratostest.NewEmail(), pw))
	fTok3 := kit.SignIn(kit.NewIdentity(), orymfatest.AAL1)
	same(t, "browser cookie", K(totp, cookieHeader(b.SessionCookie())), F(kit, cookieHeader(kit.Cookie(fTok3))), 200, "aal1", true)

	// Which credential wins (Kratos's extractToken): X-Session-Token, then the cookie, then
	// Bearer. The token's session is aal2, the cookie's aal1: the AAL tells who won.
	withCookie := func(h http.Header, c *http.Cookie) http.Header {
		h.Add("Cookie", c.Name+"="+c.Value)
		return h
	}
	same(t, "X-Session-Token and a cookie", K(totp, withCookie(tokenHeader(kTok), b.SessionCookie())), F(kit, withCookie(tokenHeader(fTok), kit.Cookie(fTok3))), 200, "aal2", true)
	same(t, "Bearer and a cookie", K(totp, withCookie(bearerHeader(kTok), b.SessionCookie())), F(kit, withCookie(bearerHeader(fTok), kit.Cookie(fTok3))), 200, "aal1", true)

	// A cookie Kratos cannot decode before a valid one of the same name (a stale cookie of
	// another domain or path): Kratos reads the valid one, in one Cookie header or in two.
	stale := &http.Cookie{Name: "ory_kratos_session", Value: "garbage"}
	same(t, "an undecodable cookie before a valid one", K(totp, withCookie(cookieHeader(stale), b.SessionCookie())), F(kit, withCookie(cookieHeader(stale), kit.Cookie(fTok3))), 200, "aal1", true)
	oneHeader := func(c *http.Cookie) http.Header {
		h := http.Header{}
		h.Set("Cookie", stale.Name+"="+stale.Value+"; "+c.Name+"="+c.Value)
		return h
	}
	same(t, "an undecodable cookie before a valid one, one header", K(totp, oneHeader(b.SessionCookie())), F(kit, oneHeader(kit.Cookie(fTok3))), 200, "aal1", true)

	// Code MFA project: every identity has a second factor (one-time codes by email). The
	// kit's second factor is TOTP, so method names are not compared.
	codeEmail := kratostest.NewEmail()
	kCode, err := code.RegisterAPI(ctx, codeEmail, pw)
	must(err)
	fCode := kit.SignIn(kit.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	same(t, "aal1 with a second factor (code)", K(code, tokenHeader(kCode)), F(kit, tokenHeader(fCode)), 403, "", false)
	must(code.StepUpCodeAPI(ctx, kCode, codeEmail))
	kit.StepUp(fCode)
	same(t, "aal2 after code step-up", K(code, tokenHeader(kCode)), F(kit, tokenHeader(fCode)), 200, "aal2", false)

	// Lax project: 200 aal1 even with a second factor.
	laxEmail := kratostest.NewEmail()
	kLax, err := lax.RegisterAPI(ctx, laxEmail, pw)
	must(err)
	_, err = lax.EnrollTOTPAPI(ctx, kLax)
	must(err)
	kLax2, err := lax.LoginAPI(ctx, laxEmail, pw)
	must(err)
	fLax := kitLax.SignIn(kitLax.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	same(t, "lax: aal1 with a second factor", K(lax, tokenHeader(kLax2)), F(kitLax, tokenHeader(fLax)), 200, "aal1", true)
}

// whoami sends one raw request to a whoami endpoint (the kit's or a real Kratos's) with the
// given headers and returns status, headers and body.
func whoami(t *testing.T, baseURL string, hdr http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, baseURL+"/sessions/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("whoami: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("whoami: read body: %v", err)
	}
	return res.StatusCode, res.Header, b
}

func tokenHeader(token string) http.Header {
	h := http.Header{}
	h.Set("X-Session-Token", token)
	return h
}

// errorBody is the part of a whoami error the comparison reads.
type errorBody struct {
	Error struct {
		ID string `json:"id"`
	} `json:"error"`
}

func decode(t *testing.T, b []byte) errorBody {
	t.Helper()
	var v errorBody
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// keys returns the sorted keys of a JSON object.
func keys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("keys of %s: %v", raw, err)
	}
	return slices.Sorted(maps.Keys(m))
}
