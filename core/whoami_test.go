package core

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orymfa/orymfa/internal/fakeory"
)

func newTestVerifier(t *testing.T, fake *fakeory.Server, cfg Config) *Verifier {
	t.Helper()
	cfg.SDKURL = fake.URL
	if cfg.OnError == nil {
		cfg.OnError = func(_ context.Context, err error) { t.Logf("verifier: %v", err) }
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func apiRequest(token string) *Request {
	return &Request{Method: "GET", URI: "/x?y=1", Host: "app.example", SessionToken: token, Accept: "application/json"}
}

// TestClassification runs the guard against every kind of answer Ory (or an impostor) gives.
func TestClassification(t *testing.T) {
	session := func(edit func(map[string]any)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s := fakeory.Session("aal2", time.Now())
			edit(s)
			fakeory.WriteSession(w, s)
		}
	}
	cases := []struct {
		name    string
		answer  http.HandlerFunc
		require Requirement
		enforce Enforcement
		want    Outcome
		status  int
		err     error
	}{
		{"aal2 session", session(func(map[string]any) {}), RequireAAL2, Strict, Allow, 0, nil},
		{"aal1 on RequireSession", session(func(s map[string]any) { s["authenticator_assurance_level"] = "aal1" }), RequireSession, Strict, Allow, 0, nil},
		{"aal1 on RequireAAL2, strict: no second factor", session(func(s map[string]any) { s["authenticator_assurance_level"] = "aal1" }), RequireAAL2, Strict, Enroll, 403, ErrNoSecondFactor},
		{"aal1 on RequireAAL2, lax step-up", session(func(s map[string]any) { s["authenticator_assurance_level"] = "aal1" }), RequireAAL2, LaxStepUp, StepUp, 403, ErrAAL2Required},
		{"aal1 on RequireAAL2, lax enroll", session(func(s map[string]any) { s["authenticator_assurance_level"] = "aal1" }), RequireAAL2, LaxEnroll, Enroll, 403, ErrAAL2Required},
		{"401 without error id", func(w http.ResponseWriter, r *http.Request) { fakeory.WriteError(w, 401, "") }, RequireSession, Strict, Login, 401, ErrNoSession},
		{"403 session_aal2_required in the body", func(w http.ResponseWriter, r *http.Request) { fakeory.WriteError(w, 403, "session_aal2_required") }, RequireSession, Strict, StepUp, 403, ErrAAL2Required},
		{"403 with only the Ory-Error-Id header", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Ory-Error-Id", "session_aal2_required")
			w.WriteHeader(403)
		}, RequireSession, Strict, StepUp, 403, ErrAAL2Required},
		{"403 with another id", func(w http.ResponseWriter, r *http.Request) { fakeory.WriteError(w, 403, "security_csrf_violation") }, RequireSession, Strict, Unavailable, 502, ErrUnavailable},
		{"500", func(w http.ResponseWriter, r *http.Request) { fakeory.WriteError(w, 500, "") }, RequireSession, Strict, Unavailable, 502, ErrUnavailable},
		{"302 elsewhere is not followed", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "http://127.0.0.1:1/", 302) }, RequireSession, Strict, Unavailable, 502, ErrUnavailable},
		{"malformed body", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"active":true,`)) }, RequireSession, Strict, Unavailable, 502, ErrUnavailable},
		{"empty 200", func(w http.ResponseWriter, r *http.Request) {}, RequireSession, Strict, Unavailable, 502, ErrUnavailable},
		{"oversized body", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"id":"` + strings.Repeat("a", 2<<20) + `"}`))
		}, RequireSession, Strict, Unavailable, 502, ErrUnavailable},
		{"inactive", session(func(s map[string]any) { s["active"] = false }), RequireSession, Strict, Unavailable, 502, ErrUnavailable},
		{"active missing", session(func(s map[string]any) { delete(s, "active") }), RequireSession, Strict, Unavailable, 502, ErrUnavailable},
		{"expired", session(func(s map[string]any) { s["expires_at"] = time.Now().Add(-time.Second).Format(time.RFC3339Nano) }), RequireSession, Strict, Unavailable, 502, ErrUnavailable},
		{"no expiry", session(func(s map[string]any) { delete(s, "expires_at") }), RequireSession, Strict, Unavailable, 502, ErrUnavailable},
		{"no AAL", session(func(s map[string]any) { delete(s, "authenticator_assurance_level") }), RequireSession, Strict, Unavailable, 502, ErrUnavailable},
		{"unknown AAL", session(func(s map[string]any) { s["authenticator_assurance_level"] = "aal9" }), RequireSession, Strict, Unavailable, 502, ErrUnavailable},
		{"no identity", session(func(s map[string]any) { delete(s, "identity") }), RequireSession, Strict, Unavailable, 502, ErrUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeory.New()
			defer fake.Close()
			fake.Respond(tc.answer)
			v := newTestVerifier(t, fake, Config{Enforcement: tc.enforce})
			g, err := NewGuard(tc.require, WithVerifier(v))
			if err != nil {
				t.Fatal(err)
			}
			d := g.Check(context.Background(), apiRequest("some-token"))
			if d.Outcome != tc.want || d.Status != tc.status {
				t.Fatalf("got %v %d (%v), want %v %d", d.Outcome, d.Status, d.Err, tc.want, tc.status)
			}
			if tc.want == Allow {
				if !d.Allowed() || d.Session == nil || d.Session.Identity.Id != fakeory.IdentityID {
					t.Fatalf("allowed without the session: %+v", d)
				}
				return
			}
			if d.Allowed() || !errors.Is(d.Err, tc.err) {
				t.Fatalf("err = %v, want %v", d.Err, tc.err)
			}
			if !strings.HasPrefix(d.Header.Get("Content-Type"), "application/json") || len(d.Body) == 0 {
				t.Fatalf("API denial without a JSON body: %v %s", d.Header, d.Body)
			}
		})
	}
}

func TestTimeoutAndRefusedConnection(t *testing.T) {
	fake := fakeory.New()
	defer fake.Close()
	fake.Respond(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	v := newTestVerifier(t, fake, Config{Timeout: 50 * time.Millisecond})
	g := MustGuard(RequireSession, WithVerifier(v))
	if d := g.Check(context.Background(), apiRequest("t")); d.Outcome != Unavailable || d.Status != 504 {
		t.Fatalf("slow Ory: %v %d", d.Outcome, d.Status)
	}
	fake.Close()
	if d := g.Check(context.Background(), apiRequest("t")); d.Outcome != Unavailable || d.Status != 503 {
		t.Fatalf("stopped Ory: %v %d", d.Outcome, d.Status)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	t.Setenv(EnvSDKURL, "")
	if _, err := NewGuard(RequireAAL2); err == nil || !strings.Contains(err.Error(), "ORY_SDK_URL") || !errors.Is(err, ErrConfig) {
		t.Fatalf("missing ORY_SDK_URL: %v", err)
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "ORY_SDK_URL") {
				t.Fatalf("MustGuard did not panic naming ORY_SDK_URL: %v", r)
			}
		}()
		MustGuard(RequireSession)
	}()
	t.Setenv(EnvSDKURL, "localhost:4433")
	if _, err := NewGuard(RequireAAL2); err == nil || !strings.Contains(err.Error(), "SDKURL") {
		t.Fatalf("malformed ORY_SDK_URL: %v", err)
	}
	for _, cfg := range []Config{
		{SDKURL: "http://ory", AppURL: "https://app.example/base"},
		{SDKURL: "http://ory", BrowserURL: "ftp://x"},
		{SDKURL: "http://ory", CookieNames: []string{"bad name"}},
		{SDKURL: "http://ory", Enforcement: 7},
		{SDKURL: "http://ory", Cache: CacheConfig{TTL: -1}},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Fatalf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
	t.Setenv(EnvSDKURL, "http://127.0.0.1:4433")
	a, b := MustGuard(RequireSession), MustGuard(RequireAAL2)
	if a.v != b.v {
		t.Fatal("guards built from the environment do not share one verifier (and cache)")
	}
	if _, err := NewGuard(RequireAAL2, WithMaxAge(-time.Second)); !errors.Is(err, ErrConfig) {
		t.Fatalf("negative max age: %v", err)
	}
}
