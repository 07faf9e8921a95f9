package core_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
)

// fuzzNow is the verifiers' clock in FuzzWhoami, so that a seed's expires_at means the same
// on every run.
var fuzzNow = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// FuzzWhoami answers whoami with a fuzzed status, Ory-Error-Id, Content-Type, Location and
// body, through the net/http adapter (cache off: every request asks), and checks the outcome
// against an independent reading of the answer:
//
//   - the handler runs only for a 200 whose body, decoded with encoding/json into the
//     oracle's own minimal struct, is a usable session: id and identity.id non-empty, active
//     true, expires_at after now, authenticator_assurance_level aal1, aal2 or aal3 (and aal2
//     or more for RequireAAL2, whose aal1 sessions are sent to set up a second factor); the
//     handler gets that very session;
//   - a usable session that client-go also decodes (a JSON content type, the fields it
//     requires) must be granted; one it refuses may fail closed instead;
//   - 401 is "sign in" (401 JSON, or 303 to the login for a browser);
//   - 403 session_aal2_required (in Ory-Error-Id, or in the JSON body's error.id) is
//     "step up" (403, or 303 to the login with aal=aal2); another 403 fails closed;
//   - everything else fails closed with 502, 503 or 504, and the handler does not run;
//   - whoami is called exactly once: a redirect is never followed.
func FuzzWhoami(f *testing.F) {
	// Real answers from the kit, which plays Kratos v1.3.1 (real Kratos answers are in
	// testdata/fuzz/FuzzWhoami).
	kit := orymfatest.NewServer(f)
	get := func(token string) (int, http.Header, []byte) {
		req, _ := http.NewRequest(http.MethodGet, kit.URL+"/sessions/whoami", nil)
		req.Header.Set("X-Session-Token", token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			f.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, b
	}
	addAnswer := func(token string, flags uint8) {
		status, h, body := get(token)
		f.Add(uint16(status), h.Get("Ory-Error-Id"), h.Get("Content-Type"), h.Get("Location"), body, flags)
	}
	aal2 := kit.SignIn(kit.NewIdentity(), orymfatest.AAL2)
	noMFA := kit.SignIn(kit.NewIdentity(), orymfatest.AAL1)
	needsMFA := kit.SignIn(kit.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	for flags := range uint8(4) {
		addAnswer(aal2, flags)
		addAnswer(noMFA, flags)
		addAnswer(needsMFA, flags)
		addAnswer("ory_st_unknown", flags)
	}
	_, _, session := get(aal2)
	edit := func(change func(map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(session, &m); err != nil {
			f.Fatal(err)
		}
		change(m)
		b, _ := json.Marshal(m)
		return b
	}
	const jsonCT = "application/json; charset=utf-8"
	seeds := []struct {
		status      uint16
		id, ct, loc string
		body        string
		flags       uint8
	}{
		{200, "", jsonCT, "", string(edit(func(m map[string]any) { m["active"] = false })), 0},
		{200, "", jsonCT, "", string(edit(func(m map[string]any) { m["active"] = "true" })), 0},
		{200, "", jsonCT, "", string(edit(func(m map[string]any) { m["expires_at"] = "2025-05-31T23:59:59Z" })), 0},
		{200, "", jsonCT, "", string(edit(func(m map[string]any) { m["expires_at"] = "2025-06-01T00:00:00Z" })), 0},
		{200, "", jsonCT, "", string(edit(func(m map[string]any) { delete(m, "expires_at") })), 0},
		{200, "", jsonCT, "", string(edit(func(m map[string]any) { m["authenticator_assurance_level"] = "aal0" })), 0},
		{200, "", jsonCT, "", string(edit(func(m map[string]any) { m["authenticator_assurance_level"] = "aal3" })), 1},
		{200, "", jsonCT, "", string(edit(func(m map[string]any) { m["authenticator_assurance_level"] = "AAL2" })), 1},
		{200, "", jsonCT, "", string(edit(func(m map[string]any) { m["id"] = "" })), 0},
		{200, "", jsonCT, "", string(edit(func(m map[string]any) { delete(m, "id"); m["ID"] = "x" })), 0},
		{200, "", jsonCT, "", string(edit(func(m map[string]any) { delete(m, "identity") })), 0},
		{200, "", jsonCT, "", string(edit(func(m map[string]any) { m["identity"] = map[string]any{"id": "i"} })), 0},
		{200, "", jsonCT, "", string(edit(func(m map[string]any) { m["Active"] = false })), 0},
		{200, "", "text/plain", "", string(session), 0},
		{200, "", "", "", string(session), 0},
		{200, "", "application/problem+json", "", string(session), 0},
		{200, "", jsonCT, "", string(session[:len(session)/2]), 0},
		{200, "", jsonCT, "", "", 0},
		{200, "", jsonCT, "", "null", 0},
		{200, "", jsonCT, "", `{"id":"s","active":true,"expires_at":"2030-01-01T00:00:00Z","authenticator_assurance_level":"aal2","identity":{"id":"i","schema_id":"default","schema_url":"x","traits":{}}}`, 1},
		{200, "", jsonCT, "", `{"id":"s","active":true,"expires_at":"2030-01-01T00:00:00Z","authenticator_assurance_level":"aal2","identity":{"id":"i"}}`, 0},
		{200, "", jsonCT, "", `{"id":"s","active":true,"active":false,"expires_at":"2030-01-01T00:00:00Z","authenticator_assurance_level":"aal2","identity":{"id":"i","schema_id":"default","schema_url":"x","traits":{}}}`, 0},
		// A proxy answering XML: Ory never does.
		{200, "", "application/xml", "", `<Session><Id>s</Id><Active>true</Active><ExpiresAt>2030-01-01T00:00:00Z</ExpiresAt><AuthenticatorAssuranceLevel>aal2</AuthenticatorAssuranceLevel><Identity><Id>i</Id><SchemaId>d</SchemaId><SchemaUrl>u</SchemaUrl></Identity></Session>`, 0},
		{200, "", "application/xml; profile=application/json", "", `<Session><Id>s</Id><Active>true</Active><ExpiresAt>2030-01-01T00:00:00Z</ExpiresAt><AuthenticatorAssuranceLevel>aal2</AuthenticatorAssuranceLevel><Identity><Id>i</Id></Identity></Session>`, 1},
		{201, "", jsonCT, "", string(session), 0},
		{204, "", "", "", "", 0},
		{401, "", "application/json", "", kratos401, 2},
		{401, "session_aal2_required", "application/json", "", kratos401, 0},
		{403, "session_aal2_required", "", "", "", 0},
		{403, "session_aal2_required", "application/json", "", `{"error":{"id":"security_csrf_violation","code":403}}`, 0},
		{403, "", "text/html", "", `{"error":{"id":"session_aal2_required","code":403}}`, 2},
		{403, "", "application/json", "", `{"error":{"id":"session_refresh_required","code":403}}`, 0},
		{403, "", "application/json", "", `{"error":{"code":403,"status":"Forbidden"}}`, 0},
		{403, "session_inactive", "application/json", "", `{"error":{"id":"session_aal2_required"}}`, 0},
		{500, "", "application/json", "", `{"error":{"code":500,"status":"Internal Server Error","message":"boom"}}`, 0},
		{502, "", "text/html", "", "<html>Bad Gateway</html>", 2},
		{503, "", "", "", "", 0},
		{404, "", "text/plain", "", "404 page not found", 0},
		{302, "", "", "https://evil.example/sessions/whoami", "", 0},
		{307, "", "", "https://evil.example/sessions/whoami", string(session), 0},
		{308, "", "", "/sessions/whoami", "", 0},
		{303, "", "", "::bad::%zz", "", 0},
		{101, "", "", "", "", 0},
		{999, "", jsonCT, "", string(session), 0},
	}
	for _, s := range seeds {
		f.Add(s.status, s.id, s.ct, s.loc, []byte(s.body), s.flags)
	}

	o := &fuzzOry{}
	v := newFuzzVerifier(f, o, core.Config{
		AppURL: "https://app.example",
		Now:    func() time.Time { return fuzzNow },
		Cache:  core.CacheConfig{Disabled: true},
	})
	var got struct {
		ran     bool
		session *ory.Session
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.ran = true
		got.session, _ = orymfa.SessionFromContext(r.Context())
	})
	guards := [2]http.Handler{
		orymfa.RequireSession(orymfa.WithVerifier(v))(handler),
		orymfa.RequireAAL2(orymfa.WithVerifier(v))(handler),
	}

	f.Fuzz(func(t *testing.T, status uint16, errorID, contentType, location string, body []byte, flags uint8) {
		code := int(status)
		if code < 100 || code > 999 {
			code = 100 + code%900
		}
		answer := func(*http.Request) *http.Response {
			h := http.Header{}
			for k, v := range map[string]string{"Ory-Error-Id": errorID, "Content-Type": contentType, "Location": location} {
				if v != "" {
					h[k] = []string{v}
				}
			}
			return fuzzResponse(code, h, body)
		}
		aal2 := flags&1 != 0
		browser := flags&2 != 0
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/x", RawQuery: "y=1"}, RequestURI: "/x?y=1",
			Host: "app.example", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}}
		if browser {
			req.Header.Set("Cookie", "ory_kratos_session=c00kie")
			req.Header.Set("Accept", "text/html")
		} else {
			req.Header.Set("X-Session-Token", "ory_st_t0ken")
			req.Header.Set("Accept", "application/json")
		}

		o.reset(answer)
		got.ran, got.session = false, nil
		w := &headerRecorder{header: http.Header{}}
		g := guards[0]
		if aal2 {
			g = guards[1]
		}
		g.ServeHTTP(w, req)

		if n := len(o.recorded()); n != 1 {
			t.Fatalf("%d whoami calls, want exactly 1", n)
		}
		want := judgeWhoami(code, errorID, contentType, body, aal2)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("status %d, Ory-Error-Id %q, Content-Type %q, aal2 %v, browser %v: "+format,
				append([]any{code, errorID, contentType, aal2, browser}, args...)...)
		}
		if got.ran != (want.outcome == core.Allow) && !(want.mayFailClosed && !got.ran) {
			fail("handler ran: %v, want outcome %v (status %d)", got.ran, want.outcome, w.status)
		}
		if got.ran {
			s := got.session
			if s == nil || s.Id != want.session.ID || s.Identity == nil || s.Identity.Id != want.session.Identity.ID ||
				string(s.GetAuthenticatorAssuranceLevel()) != *want.session.AAL {
				fail("the handler got session %+v, want %+v", s, want.session)
			}
			return
		}
		fiveXX := w.status == 502 || w.status == 503 || w.status == 504
		if want.mayFailClosed && fiveXX {
			return
		}
		loc := w.header.Get("Location")
		switch want.outcome {
		case core.Allow:
			fail("denied with %d, want the handler to run", w.status)
		case core.Unavailable:
			if !fiveXX {
				fail("status %d (Location %q), want 502, 503 or 504", w.status, loc)
			}
		case core.Login:
			if browser && (w.status != 303 || !strings.Contains(loc, "/self-service/login/browser?return_to=")) ||
				!browser && w.status != 401 {
				fail("status %d Location %q, want sign-in", w.status, loc)
			}
		case core.StepUp:
			if browser && (w.status != 303 || !strings.Contains(loc, "/self-service/login/browser?aal=aal2")) ||
				!browser && w.status != 403 {
				fail("status %d Location %q, want step-up", w.status, loc)
			}
		case core.Enroll:
			if browser && (w.status != 303 || !strings.Contains(loc, "/self-service/settings/browser")) ||
				!browser && w.status != 403 {
				fail("status %d Location %q, want set-up of a second factor", w.status, loc)
			}
		}
	})
}

// oracleSession is what the oracle reads of a whoami body.
type oracleSession struct {
	ID        string     `json:"id"`
	Active    *bool      `json:"active"`
	ExpiresAt *time.Time `json:"expires_at"`
	AAL       *string    `json:"authenticator_assurance_level"`
	Identity  *struct {
		ID string `json:"id"`
	} `json:"identity"`
}

// whoamiVerdict is the oracle's expectation for one answer.
type whoamiVerdict struct {
	outcome core.Outcome
	// mayFailClosed: a 5xx instead of outcome is acceptable (client-go refuses what the
	// oracle accepts, or Ory's answer is ambiguous).
	mayFailClosed bool
	session       oracleSession
}

var jsonMediaType = regexp.MustCompile(`(?i)^application/json\s*(;|$)`)

// judgeWhoami reads an answer as the specification says the guard must.
func judgeWhoami(code int, errorID, contentType string, body []byte, aal2 bool) whoamiVerdict {
	switch code {
	case http.StatusOK:
		var s oracleSession
		if json.Unmarshal(body, &s) != nil || s.ID == "" || s.Active == nil || !*s.Active ||
			s.ExpiresAt == nil || !s.ExpiresAt.After(fuzzNow) || s.Identity == nil || s.Identity.ID == "" || s.AAL == nil {
			return whoamiVerdict{outcome: core.Unavailable}
		}
		rank := map[string]int{"aal1": 1, "aal2": 2, "aal3": 3}[*s.AAL]
		if rank == 0 {
			return whoamiVerdict{outcome: core.Unavailable}
		}
		v := whoamiVerdict{outcome: core.Allow, session: s}
		if aal2 && rank < 2 {
			v.outcome = core.Enroll // a Strict project said 200 aal1: no second factor yet
		}
		// The guard decodes through client-go, which is stricter (required fields, a JSON
		// content type): only what it accepts too must be granted.
		var full ory.Session
		v.mayFailClosed = !jsonMediaType.MatchString(contentType) || json.Unmarshal(body, &full) != nil
		return v
	case http.StatusUnauthorized:
		return whoamiVerdict{outcome: core.Login}
	case http.StatusForbidden:
		const aal2Required = "session_aal2_required"
		var e struct {
			Error struct {
				ID string `json:"id"`
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		header, inBody := errorID == aal2Required, e.Error.ID == aal2Required
		switch {
		case header && (inBody || e.Error.ID == ""), errorID == "" && inBody:
			return whoamiVerdict{outcome: core.StepUp}
		case header || inBody: // the header and the body disagree
			return whoamiVerdict{outcome: core.StepUp, mayFailClosed: true}
		}
	}
	return whoamiVerdict{outcome: core.Unavailable}
}
