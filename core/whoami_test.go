package core_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// TestClassification runs the guard against every kind of answer Ory (or an impostor) gives.
// Only a usable session grants; anything unclear fails closed with a 502.
func TestClassification(t *testing.T) {
	type answer func(t *testing.T, srv *orymfatest.Server, token string) http.HandlerFunc
	edit := func(f func(map[string]any)) answer {
		return func(t *testing.T, srv *orymfatest.Server, token string) http.HandlerFunc {
			s := sessionJSON(t, srv, token)
			f(s)
			return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, s) }
		}
	}
	raw := func(h http.HandlerFunc) answer {
		return func(*testing.T, *orymfatest.Server, string) http.HandlerFunc { return h }
	}
	kratosError := func(status int, id string) answer {
		return raw(func(w http.ResponseWriter, r *http.Request) {
			e := map[string]any{"code": status, "status": http.StatusText(status), "message": "x"}
			if id != "" {
				e["id"] = id
			}
			writeJSON(w, status, map[string]any{"error": e})
		})
	}
	aal1 := edit(func(s map[string]any) { s["authenticator_assurance_level"] = "aal1" })
	cases := []struct {
		name    string
		answer  answer // nil: the kit's own answer for an aal2 session
		require core.Requirement
		enforce core.Enforcement
		want    core.Outcome
		status  int
		err     error
	}{
		{"aal2 session", nil, core.RequireAAL2, core.Strict, core.Allow, 0, nil},
		{"aal1 on RequireSession", aal1, core.RequireSession, core.Strict, core.Allow, 0, nil},
		{"aal1 on RequireAAL2, strict: no second factor", aal1, core.RequireAAL2, core.Strict, core.Enroll, 403, core.ErrNoSecondFactor},
		{"aal1 on RequireAAL2, lax step-up", aal1, core.RequireAAL2, core.LaxStepUp, core.StepUp, 403, core.ErrAAL2Required},
		{"aal1 on RequireAAL2, lax enroll", aal1, core.RequireAAL2, core.LaxEnroll, core.Enroll, 403, core.ErrAAL2Required},
		{"401 without error id", kratosError(401, ""), core.RequireSession, core.Strict, core.Login, 401, core.ErrNoSession},
		{"403 session_aal2_required in the body", kratosError(403, "session_aal2_required"), core.RequireSession, core.Strict, core.StepUp, 403, core.ErrAAL2Required},
		{"403 with only the Ory-Error-Id header", raw(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Ory-Error-Id", "session_aal2_required")
			w.WriteHeader(403)
		}), core.RequireSession, core.Strict, core.StepUp, 403, core.ErrAAL2Required},
		{"403 with another id", kratosError(403, "security_csrf_violation"), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
		{"500", kratosError(500, ""), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
		{"302 elsewhere is not followed", raw(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "http://127.0.0.1:1/", 302) }), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
		{"malformed body", raw(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"active":true,`)) }), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
		{"empty 200", raw(func(w http.ResponseWriter, r *http.Request) {}), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
		{"oversized body", raw(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"id":"` + strings.Repeat("a", 2<<20) + `"}`))
		}), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
		{"inactive", edit(func(s map[string]any) { s["active"] = false }), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
		{"active missing", edit(func(s map[string]any) { delete(s, "active") }), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
		{"expired", edit(func(s map[string]any) { s["expires_at"] = time.Now().Add(-time.Second).Format(time.RFC3339Nano) }), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
		{"no expiry", edit(func(s map[string]any) { delete(s, "expires_at") }), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
		{"no AAL", edit(func(s map[string]any) { delete(s, "authenticator_assurance_level") }), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
		{"unknown AAL", edit(func(s map[string]any) { s["authenticator_assurance_level"] = "aal9" }), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
		{"no identity", edit(func(s map[string]any) { delete(s, "identity") }), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
		{"no session id", edit(func(s map[string]any) { delete(s, "id") }), core.RequireSession, core.Strict, core.Unavailable, 502, core.ErrUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := orymfatest.NewServer(t)
			user := srv.NewIdentity()
			token := srv.SignIn(user, orymfatest.AAL2)
			if tc.answer != nil {
				srv.Respond(tc.answer(t, srv, token))
			}
			v := newVerifier(t, srv.URL, core.Config{Enforcement: tc.enforce})
			g, err := core.NewGuard(tc.require, core.WithVerifier(v))
			if err != nil {
				t.Fatal(err)
			}
			d := g.Check(ctx(t), apiRequest(token))
			if d.Outcome != tc.want || d.Status != tc.status {
				t.Fatalf("got %v %d (%v), want %v %d", d.Outcome, d.Status, d.Err, tc.want, tc.status)
			}
			if tc.want == core.Allow {
				if !d.Allowed() || d.Session == nil || d.Session.Identity.Id != user.ID {
					t.Fatalf("allowed without the user's session: %+v", d)
				}
				return
			}
			if d.Allowed() || !errors.Is(d.Err, tc.err) {
				t.Fatalf("err = %v, want %v", d.Err, tc.err)
			}
			e := decodeError(t, d)
			if e.Error.Code != tc.status || !strings.HasPrefix(d.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("API denial body %s, headers %v", d.Body, d.Header)
			}
			if tc.want == core.Unavailable && e.Error.ID != "ory_unavailable" {
				t.Fatalf("error id %q, want ory_unavailable", e.Error.ID)
			}
		})
	}
}

func TestTimeoutAndRefusedConnection(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	srv.SetFault(orymfatest.Slow(time.Minute))
	v := newVerifier(t, srv.URL, core.Config{Timeout: 50 * time.Millisecond, Cache: core.CacheConfig{Disabled: true}})
	g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
	if d := g.Check(ctx(t), apiRequest(token)); d.Outcome != core.Unavailable || d.Status != 504 {
		t.Fatalf("slow Ory: %v %d", d.Outcome, d.Status)
	}
	srv.SetFault(orymfatest.Down)
	d := g.Check(ctx(t), apiRequest(token))
	if d.Outcome != core.Unavailable || d.Status != 503 || d.Header.Get("Retry-After") == "" {
		t.Fatalf("Ory down: %v %d %v, want 503 with Retry-After", d.Outcome, d.Status, d.Header)
	}
}

// A body that Ory trickles past the timeout is a timeout (504), not a malformed answer.
func TestTrickledBodyIsATimeout(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	srv.Respond(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		w.Write([]byte(`{"id":"`))
		w.(http.Flusher).Flush()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				if _, err := w.Write([]byte("a")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			case <-stop:
				return
			}
		}
	})
	v := newVerifier(t, srv.URL, core.Config{Timeout: 100 * time.Millisecond})
	d := core.MustGuard(core.RequireSession, core.WithVerifier(v)).Check(ctx(t), apiRequest(token))
	if d.Outcome != core.Unavailable || d.Status != 504 {
		t.Fatalf("trickled body: %v %d (%v), want 504", d.Outcome, d.Status, d.Err)
	}
}

// Ory's 429 (its rate limit) is a 503 with Ory's Retry-After (seconds or a date, rounded up to
// seconds, at most an hour), or the default when Ory names none: Ory is not broken, the app
// has to wait.
func TestRateLimitIsUnavailableWithOrysRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ header, want string }{
		{"30", "30"},
		{"", "5"},
		{"soon", "5"},
		{"0", "5"},
		{now.Add(90 * time.Second).Format(http.TimeFormat), "90"},
		{now.Add(-time.Minute).Format(http.TimeFormat), "5"},
		{"99999999999", "3600"},
	} {
		t.Run(tc.header, func(t *testing.T) {
			srv := orymfatest.NewServer(t)
			token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
			srv.Respond(func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{"code": 429, "message": "rate limit exceeded"}})
			})
			v := newVerifier(t, srv.URL, core.Config{Now: func() time.Time { return now }})
			g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
			d := g.Check(ctx(t), apiRequest(token))
			var ue *core.UnavailableError
			if d.Outcome != core.Unavailable || d.Status != http.StatusServiceUnavailable || !errors.As(d.Err, &ue) || ue.OryStatus != http.StatusTooManyRequests {
				t.Fatalf("got %v %d (%v), want unavailable 503 for Ory's 429", d.Outcome, d.Status, d.Err)
			}
			if got := d.Header.Get("Retry-After"); got != tc.want {
				t.Fatalf("Retry-After %q, want %q", got, tc.want)
			}
			if e := decodeError(t, d); e.Error.Code != 503 || e.Error.ID != "ory_unavailable" {
				t.Fatalf("body %s", d.Body)
			}
		})
	}
}

// The admin URL given as the SDK URL starts fine, then whoami is redirected (Kratos's admin
// API answers 307) or not found: every request fails closed with a 502, and the error says
// what to fix; the log says it once, not once per request.
func TestAdminURLIsExplained(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusNotFound} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			srv := orymfatest.NewServer(t)
			token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
			srv.Respond(func(w http.ResponseWriter, r *http.Request) {
				if status == http.StatusNotFound {
					http.NotFound(w, r)
					return
				}
				http.Redirect(w, r, "/admin/sessions/whoami", status) // as Kratos's admin API does
			})
			var log bytes.Buffer
			v, err := core.New(core.Config{SDKURL: srv.URL, AppURL: "https://app.example", Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
			for range 5 {
				d := g.Check(ctx(t), apiRequest(token))
				if d.Status != http.StatusBadGateway || !strings.Contains(d.Err.Error(), "SDKURL (ORY_SDK_URL) must be Ory's public URL") || !strings.Contains(d.Err.Error(), "not the admin API") {
					t.Fatalf("got %d %v, want a 502 whose error names SDKURL and the admin API", d.Status, d.Err)
				}
				if strings.Contains(string(d.Body), "SDKURL") {
					t.Fatalf("the hint reached the client: %s", d.Body)
				}
			}
			if n := strings.Count(log.String(), "\n"); n != 1 || !strings.Contains(log.String(), "must be Ory's public URL") {
				t.Fatalf("%d log lines for 5 requests, want one with the hint:\n%s", n, log.String())
			}
		})
	}
}
