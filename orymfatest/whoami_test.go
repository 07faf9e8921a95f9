package orymfatest_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orymfa/orymfa/orymfatest"
)

// The bodies below are Kratos v1.3.1's, copied from a real whoami (see faithful_test.go).
const (
	kratos401 = `{"error":{"code":401,"status":"Unauthorized","reason":"No valid session credentials found in the request.","message":"The request could not be authorized"}}` + "\n"
	kratos403 = `{"error":{"id":"session_aal2_required","code":403,"status":"Forbidden","reason":"An active session was found but it does not fulfill the requested Authenticator Assurance Level. Please verify yourself with a second factor to resolve this issue.","details":{"redirect_browser_to":"{URL}/self-service/login/browser?aal=aal2"},"message":"Session does not fulfill the requested Authenticator Assurance Level"},"redirect_browser_to":"{URL}/self-service/login/browser?aal=aal2"}` + "\n"
)

var (
	tokenShape = regexp.MustCompile(`^ory_st_[A-Za-z0-9]{32}$`)
	uuidShape  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

func TestWhoamiErrorsAsKratos(t *testing.T) {
	srv := orymfatest.NewServer(t)
	alice := srv.NewIdentity(orymfatest.WithSecondFactor())
	aal1 := srv.SignIn(alice, orymfatest.AAL1)

	for _, tc := range []struct {
		name   string
		hdr    http.Header
		status int
		body   string
	}{
		{"no credential", nil, 401, kratos401},
		{"unknown token", tokenHeader("ory_st_abcdefghijklmnopqrstuvwxyz012345"), 401, kratos401},
		{"aal1 with a second factor", tokenHeader(aal1), 403, strings.ReplaceAll(kratos403, "{URL}", srv.URL)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, b := whoami(t, srv.URL, tc.hdr)
			if status != tc.status || string(b) != tc.body {
				t.Fatalf("got %d %s\nwant %d %s", status, b, tc.status, tc.body)
			}
			want := map[string]string{
				"Content-Type":  "application/json",
				"Cache-Control": "private, no-cache, no-store, must-revalidate",
				"Vary":          "Cookie",
				// v1.3.1 sends the error id only in the body; newer versions add this header.
				"Ory-Error-Id":                       "",
				"X-Kratos-Authenticated-Identity-Id": "",
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestWhoamiSession(t *testing.T) {
	srv := orymfatest.NewServer(t)
	bob := srv.NewIdentity()
	token := srv.SignIn(bob, orymfatest.AAL1)
	if !tokenShape.MatchString(token) {
		t.Errorf("token %q is not shaped like Kratos's ory_st_ + 32 alphanumerics", token)
	}
	if !uuidShape.MatchString(bob.ID) {
		t.Errorf("identity id %q is not a UUID", bob.ID)
	}

	status, h, b := whoami(t, srv.URL, tokenHeader(token))
	if status != http.StatusOK {
		t.Fatalf("whoami: %d %s", status, b)
	}
	for k, v := range map[string]string{
		"Content-Type":                       "application/json; charset=utf-8",
		"Cache-Control":                      "private, no-cache, no-store, must-revalidate",
		"Vary":                               "Cookie",
		"X-Kratos-Authenticated-Identity-Id": bob.ID,
	} {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	// The key sets Kratos v1.3.1 answers for a project without verification and recovery.
	wantKeys := map[string][]string{
		"":                        {"active", "authenticated_at", "authentication_methods", "authenticator_assurance_level", "devices", "expires_at", "id", "identity", "issued_at"},
		"identity":                {"created_at", "id", "metadata_public", "organization_id", "schema_id", "schema_url", "state", "state_changed_at", "traits", "updated_at"},
		"authentication_methods.": {"aal", "completed_at", "method"},
		"devices.":                {"id", "ip_address", "location", "user_agent"},
	}
	var doc struct {
		Identity json.RawMessage   `json:"identity"`
		Methods  []json.RawMessage `json:"authentication_methods"`
		Devices  []json.RawMessage `json:"devices"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for path, raw := range map[string]json.RawMessage{"": b, "identity": doc.Identity, "authentication_methods.": doc.Methods[0], "devices.": doc.Devices[0]} {
		if got := keys(t, raw); !slices.Equal(got, wantKeys[path]) {
			t.Errorf("keys of %q: %v, want %v", path, got, wantKeys[path])
		}
	}

	v := decode(t, b)
	if v.AAL != "aal1" || v.Identity.ID != bob.ID || !uuidShape.MatchString(v.ID) {
		t.Errorf("session: %s", b)
	}
	if email, _ := v.Identity.Traits["email"].(string); email == "" || email != bob.Traits["email"] {
		t.Errorf("traits %v, identity traits %v", v.Identity.Traits, bob.Traits)
	}
	if len(v.Methods) != 1 || v.Methods[0].Method != "password" || v.Methods[0].AAL != "aal1" {
		t.Errorf("methods: %+v", v.Methods)
	}
	if !strings.Contains(string(b), `"metadata_public":null`) || !strings.Contains(string(b), `"organization_id":null`) ||
		!strings.Contains(string(b), `"schema_url":"`+srv.URL+`/schemas/ZGVmYXVsdA"`) {
		t.Errorf("identity fields differ from Kratos's: %s", b)
	}
}

// Kratos reads X-Session-Token first (a wrong one is final), then the cookie (one it cannot
// decode is skipped), then Authorization: Bearer.
func TestWhoamiCredentials(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	for _, tc := range []struct {
		name   string
		hdr    http.Header
		status int
	}{
		{"X-Session-Token", hdr("X-Session-Token", token), 200},
		{"Bearer", hdr("Authorization", "Bearer "+token), 200},
		{"bearer in lower case", hdr("Authorization", "bearer "+token), 200},
		{"Bearer with two spaces", hdr("Authorization", "Bearer  "+token), 401},
		{"cookie", hdr("Cookie", "ory_kratos_session="+token), 200},
		{"cookie among others", hdr("Cookie", "theme=dark; ory_kratos_session="+token+"; csrf=x"), 200},
		{"wrong X-Session-Token beats a good bearer", hdr("X-Session-Token", "nonsense", "Authorization", "Bearer "+token), 401},
		{"wrong X-Session-Token beats a good cookie", hdr("X-Session-Token", "nonsense", "Cookie", "ory_kratos_session="+token), 401},
		{"undecodable cookie falls back to bearer", hdr("Cookie", "ory_kratos_session=garbage", "Authorization", "Bearer "+token), 200},
		{"other cookie name", hdr("Cookie", "ory_session_slug="+token), 401},
		{"undecodable cookie before a good one", hdr("Cookie", "ory_kratos_session=garbage; ory_kratos_session="+token), 200},
		{"undecodable cookie before a good one, two headers", hdr("Cookie", "ory_kratos_session=garbage", "Cookie", "ory_kratos_session="+token), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, _, b := whoami(t, srv.URL, tc.hdr); status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, b)
			}
		})
	}

	srv.SetCookieName("ory_session_slug")
	if status, _, b := whoami(t, srv.URL, hdr("Cookie", "ory_session_slug="+token)); status != 200 {
		t.Fatalf("SetCookieName: status %d: %s", status, b)
	}
	c := srv.Cookie(token)
	if c.Name != "ory_session_slug" || len(c.Value) < 400 || c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("Cookie: %+v, want a Kratos-sized value", c)
	}
	if status, _, b := whoami(t, srv.URL, hdr("Cookie", c.String())); status != 200 {
		t.Fatalf("the Kratos-sized cookie: status %d: %s", status, b)
	}
	srv.StepUp(token)
	if c2 := srv.Cookie(token); c2.Value == c.Value {
		t.Fatal("the cookie value did not change on step-up, as Kratos's does")
	}
	if status, _, b := whoami(t, srv.URL, hdr("Cookie", c.String())); status != 200 || !strings.Contains(string(b), `"aal2"`) {
		t.Fatalf("the earlier cookie value after step-up: status %d: %s, want the same session at aal2", status, b)
	}
}

func TestStrictAndLax(t *testing.T) {
	srv := orymfatest.NewServer(t)
	with := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	without := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	aal2 := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)

	check := func(name, token string, status int, aal string) {
		t.Helper()
		got, _, b := whoami(t, srv.URL, tokenHeader(token))
		if got != status {
			t.Fatalf("%s: status %d, want %d: %s", name, got, status, b)
		}
		if status == 200 && decode(t, b).AAL != aal {
			t.Fatalf("%s: %s, want %s", name, b, aal)
		}
	}
	check("strict, aal1 with a second factor", with, 403, "")
	check("strict, aal1 without", without, 200, "aal1")
	check("strict, aal2", aal2, 200, "aal2")
	srv.SetLax(true)
	check("lax, aal1 with a second factor", with, 200, "aal1")
	check("lax, aal2", aal2, 200, "aal2")
	srv.SetLax(false)
	check("strict again", with, 403, "")
}

func TestWhoamiMethods(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodHead} {
		req, _ := http.NewRequestWithContext(t.Context(), m, srv.URL+"/sessions/whoami", nil)
		req.Header.Set("X-Session-Token", token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%s whoami: %d", m, res.StatusCode)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, srv.URL+"/sessions/whoami", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE whoami: %d", res.StatusCode)
	}
	if srv.Calls() != 3 {
		t.Errorf("Calls = %d, want 3 (DELETE is not whoami)", srv.Calls())
	}
}

func TestCalls(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	if srv.Calls() != 0 || srv.LastCookie() != "" || len(srv.CallHeaders()) != 0 {
		t.Fatal("a new server has calls")
	}
	whoami(t, srv.URL, tokenHeader(token))
	h := http.Header{}
	h.Set("Cookie", "ory_kratos_session="+token)
	whoami(t, srv.URL, h)
	if srv.Calls() != 2 || srv.LastCookie() != "ory_kratos_session="+token {
		t.Fatalf("Calls %d, LastCookie %q", srv.Calls(), srv.LastCookie())
	}
	hs := srv.CallHeaders()
	if len(hs) != 2 || hs[0].Get("X-Session-Token") != token || hs[1].Get("X-Session-Token") != "" {
		t.Fatalf("CallHeaders: %v", hs)
	}
	hs[0].Set("X-Session-Token", "changed")
	if srv.CallHeaders()[0].Get("X-Session-Token") != token {
		t.Fatal("CallHeaders returned the server's own headers")
	}
	srv.ResetCalls()
	if srv.Calls() != 0 || srv.LastCookie() != "" {
		t.Fatal("ResetCalls kept calls")
	}
}

func TestIdentities(t *testing.T) {
	srv := orymfatest.NewServer(t)
	a, b := srv.NewIdentity(), srv.NewIdentity()
	if a.ID == b.ID || a.Traits["email"] == b.Traits["email"] {
		t.Fatalf("identities collide: %+v %+v", a, b)
	}
	if a.HasSecondFactor() || !srv.NewIdentity(orymfatest.WithSecondFactor()).HasSecondFactor() {
		t.Fatal("HasSecondFactor")
	}
	traits := map[string]any{"email": "ada@example.com", "name": map[string]any{"first": "Ada"}}
	ada := srv.NewIdentity(orymfatest.WithTraits(traits), orymfatest.WithMetadataPublic(map[string]any{"role": "admin"}))
	traits["email"] = "changed@example.com" // the server took a copy
	s := srv.Session(srv.SignIn(ada, orymfatest.AAL1))
	got, _ := s.Identity.Traits.(map[string]any)
	if got["email"] != "ada@example.com" || got["name"].(map[string]any)["first"] != "Ada" {
		t.Fatalf("traits: %v", s.Identity.Traits)
	}
	if s.Identity.MetadataPublic["role"] != "admin" {
		t.Fatalf("metadata_public: %v", s.Identity.MetadataPublic)
	}
}

func TestStepUp(t *testing.T) {
	srv := orymfatest.NewServer(t)

	t.Run("login aal2 with a second factor", func(t *testing.T) {
		token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
		srv.Backdate(token, time.Hour)
		srv.StepUp(token)
		s := srv.Session(token)
		if s.GetAuthenticatorAssuranceLevel() != "aal2" || len(s.AuthenticationMethods) != 2 ||
			s.AuthenticationMethods[1].GetMethod() != "totp" || s.AuthenticationMethods[1].GetAal() != "aal2" {
			t.Fatalf("after StepUp: %+v", s)
		}
		// Kratos moves authenticated_at (and expires_at) to the step-up.
		if time.Since(s.GetAuthenticatedAt()) > time.Minute || s.GetAuthenticatedAt().Before(s.AuthenticationMethods[1].GetCompletedAt()) {
			t.Fatalf("authenticated_at %v did not move to the step-up", s.GetAuthenticatedAt())
		}
		if status, _, b := whoami(t, srv.URL, tokenHeader(token)); status != 200 || decode(t, b).AAL != "aal2" {
			t.Fatalf("whoami after StepUp: %d %s", status, b)
		}
	})

	t.Run("enrollment without a second factor", func(t *testing.T) {
		id := srv.NewIdentity()
		token := srv.SignIn(id, orymfatest.AAL1)
		srv.Backdate(token, time.Hour)
		srv.StepUp(token)
		if !id.HasSecondFactor() {
			t.Fatal("the identity has no second factor after enrollment")
		}
		s := srv.Session(token)
		if s.GetAuthenticatorAssuranceLevel() != "aal2" || len(s.AuthenticationMethods) != 2 {
			t.Fatalf("after enrollment: %+v", s)
		}
		// Enrollment leaves authenticated_at at the password login, as Kratos does.
		if time.Since(s.GetAuthenticatedAt()) < 59*time.Minute || time.Since(s.AuthenticationMethods[1].GetCompletedAt()) > time.Minute {
			t.Fatalf("authenticated_at %v, totp completed_at %v", s.GetAuthenticatedAt(), s.AuthenticationMethods[1].GetCompletedAt())
		}
		// A new password login of the same user now needs the second factor.
		if status, _, _ := whoami(t, srv.URL, tokenHeader(srv.SignIn(id, orymfatest.AAL1))); status != 403 {
			t.Fatalf("new aal1 login after enrollment: %d, want 403", status)
		}
	})

	t.Run("refresh an aal2 session", func(t *testing.T) {
		token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
		srv.Backdate(token, time.Hour)
		srv.StepUp(token)
		s := srv.Session(token)
		if len(s.AuthenticationMethods) != 3 || time.Since(s.GetAuthenticatedAt()) > time.Minute {
			t.Fatalf("after refresh: %+v", s)
		}
	})

	t.Run("SignIn aal2 gives a second factor", func(t *testing.T) {
		id := srv.NewIdentity()
		srv.SignIn(id, orymfatest.AAL2)
		if !id.HasSecondFactor() {
			t.Fatal("no second factor after SignIn(AAL2)")
		}
	})
}

func TestRevokeAndExpire(t *testing.T) {
	srv := orymfatest.NewServer(t)
	id := srv.NewIdentity()
	revoked, expired, other := srv.SignIn(id, orymfatest.AAL1), srv.SignIn(id, orymfatest.AAL1), srv.SignIn(id, orymfatest.AAL1)
	srv.Revoke(revoked)
	srv.Revoke(revoked) // twice is fine
	srv.Expire(expired)
	for _, tok := range []string{revoked, expired} {
		if status, _, b := whoami(t, srv.URL, tokenHeader(tok)); status != 401 || string(b) != kratos401 {
			t.Fatalf("whoami: %d %s", status, b)
		}
	}
	h := http.Header{}
	h.Set("Cookie", "ory_kratos_session="+revoked)
	h.Set("Authorization", "Bearer "+other)
	// Kratos decodes the cookie of a revoked session and stops there: 401, not the bearer.
	if status, _, _ := whoami(t, srv.URL, h); status != 401 {
		t.Fatalf("revoked cookie with a good bearer: %d, want 401", status)
	}
	if status, _, _ := whoami(t, srv.URL, tokenHeader(other)); status != 200 {
		t.Fatalf("other sessions of the identity: %d", status)
	}
}

func TestTimes(t *testing.T) {
	srv := orymfatest.NewServer(t)
	id := srv.NewIdentity(orymfatest.WithSecondFactor())

	token := srv.SignIn(id, orymfatest.AAL2)
	before := srv.Session(token)
	srv.Backdate(token, 10*time.Minute)
	after := srv.Session(token)
	for name, pair := range map[string][2]time.Time{
		"issued_at":        {before.GetIssuedAt(), after.GetIssuedAt()},
		"authenticated_at": {before.GetAuthenticatedAt(), after.GetAuthenticatedAt()},
		"password":         {before.AuthenticationMethods[0].GetCompletedAt(), after.AuthenticationMethods[0].GetCompletedAt()},
		"totp":             {before.AuthenticationMethods[1].GetCompletedAt(), after.AuthenticationMethods[1].GetCompletedAt()},
	} {
		if d := pair[0].Sub(pair[1]); d != 10*time.Minute {
			t.Errorf("Backdate moved %s by %v", name, d)
		}
	}
	if !after.GetExpiresAt().Equal(before.GetExpiresAt()) {
		t.Errorf("Backdate moved expires_at")
	}

	now := time.Now().UTC().Truncate(time.Second)
	srv.SetFactorTimes(token, now, now.Add(-10*time.Minute))
	s := srv.Session(token)
	if !s.AuthenticationMethods[0].GetCompletedAt().Equal(now) || !s.AuthenticationMethods[1].GetCompletedAt().Equal(now.Add(-10*time.Minute)) ||
		!s.GetAuthenticatedAt().Equal(now) || !s.GetIssuedAt().Equal(now.Add(-10*time.Minute)) {
		t.Fatalf("SetFactorTimes(now, now-10m): %+v", s)
	}
	srv.SetFactorTimes(token, now.Add(-time.Hour), now)
	s = srv.Session(token)
	if !s.GetAuthenticatedAt().Equal(now) || !s.GetIssuedAt().Equal(now.Add(-time.Hour)) {
		t.Fatalf("SetFactorTimes(now-1h, now): %+v", s)
	}
}

// Misuse fails the test with a message that says what went wrong.
func TestMisuse(t *testing.T) {
	rec := &fatalRecorder{TB: t}
	srv := orymfatest.NewServer(rec)
	other := orymfatest.NewServer(t)
	aal1 := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	aal2 := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	revoked := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	srv.Revoke(revoked)

	for _, tc := range []struct {
		name string
		call func()
		want string
	}{
		{"SignIn foreign identity", func() { srv.SignIn(other.NewIdentity(), orymfatest.AAL1) }, "not created by this server"},
		{"SignIn nil identity", func() { srv.SignIn(nil, orymfatest.AAL1) }, "not created by this server"},
		{"SignIn bad AAL", func() { srv.SignIn(srv.NewIdentity(), "aal3") }, `AAL "aal3"`},
		{"StepUp unknown", func() { srv.StepUp("ory_st_nope") }, "StepUp: unknown session token"},
		{"StepUp revoked", func() { srv.StepUp(revoked) }, "StepUp: the session was revoked"},
		{"Revoke unknown", func() { srv.Revoke("nope") }, "Revoke: unknown session token"},
		{"Expire unknown", func() { srv.Expire("nope") }, "Expire: unknown session token"},
		{"Backdate unknown", func() { srv.Backdate("nope", time.Minute) }, "Backdate: unknown session token"},
		{"Backdate negative", func() { srv.Backdate(aal1, -time.Minute) }, "negative duration"},
		{"Session unknown", func() { srv.Session("nope") }, "Session: unknown session token"},
		{"SetFactorTimes aal1 with second", func() { srv.SetFactorTimes(aal1, time.Now(), time.Now()) }, "session is aal1"},
		{"SetFactorTimes aal2 without second", func() { srv.SetFactorTimes(aal2, time.Now(), time.Time{}) }, "session is aal2"},
		{"SetFactorTimes zero first", func() { srv.SetFactorTimes(aal2, time.Time{}, time.Now()) }, "first factor's time is zero"},
		{"NewIdentity bad traits", func() { srv.NewIdentity(orymfatest.WithTraits(map[string]any{"f": func() {}})) }, "traits do not encode"},
		{"SetFault Status(200)", func() { srv.SetFault(orymfatest.Status(200)) }, "Status(200)"},
		{"SetFault negative Slow", func() { srv.SetFault(orymfatest.Slow(-time.Second)) }, "negative"},
		{"SetCookieName empty", func() { srv.SetCookieName("") }, "empty cookie name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(rec.failures())
			tc.call()
			got := rec.failures()
			if len(got) != n+1 || !strings.Contains(got[n], tc.want) {
				t.Fatalf("failures %q, want one containing %q", got[n:], tc.want)
			}
		})
	}
	if status, _, _ := whoami(t, srv.URL, tokenHeader(aal1)); status != 200 {
		t.Fatalf("the server is unusable after misuse: %d", status)
	}
}
