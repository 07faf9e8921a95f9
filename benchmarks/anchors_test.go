package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// The credentials fakeWhoami knows.
const (
	fakeTokenAAL2  = "ory_st_fakeaal2"
	fakeCookieAAL2 = "fake-aal2-cookie"
	fakeStepUp     = "ory_st_fakestepup" // 403, as whoami answers an aal1 session of a user with a second factor
)

// fakeWhoami is a minimal Kratos whoami: a Kratos-shaped aal2 session for fakeTokenAAL2 (in
// X-Session-Token) and fakeCookieAAL2 (in ory_kratos_session), 403 for fakeStepUp, 401 for
// anything else. It counts the calls.
type fakeWhoami struct {
	*httptest.Server
	calls atomic.Int64
}

func newFakeWhoami(t *testing.T) *fakeWhoami {
	f := &fakeWhoami{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sessions/whoami" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		f.calls.Add(1)
		cred := r.Header.Get("X-Session-Token")
		if c, err := r.Cookie("ory_kratos_session"); err == nil {
			cred = c.Value
		}
		w.Header().Set("Content-Type", "application/json")
		switch cred {
		case fakeTokenAAL2, fakeCookieAAL2:
			now := time.Now().UTC()
			_ = json.NewEncoder(w).Encode(map[string]any{
				"id":                            "b8f0c6a2-3c1e-4f27-9d0a-1f0f3f3c7e01",
				"active":                        true,
				"expires_at":                    now.Add(time.Hour).Format(time.RFC3339Nano),
				"authenticated_at":              now.Format(time.RFC3339Nano),
				"issued_at":                     now.Add(-time.Minute).Format(time.RFC3339Nano),
				"authenticator_assurance_level": "aal2",
				"identity": map[string]any{
					"id": "9f425a8d-7efc-4768-8f23-7647a74fdf13", "state": "active",
					"schema_id": "default", "schema_url": "http://127.0.0.1/schemas/default",
					"traits": map[string]any{"email": "user@example.com"},
				},
			})
		case fakeStepUp:
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"error":{"id":"session_aal2_required","code":403}}`)
		default:
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"code":401}}`)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func TestWhoamiCount(t *testing.T) {
	// Kratos v1.3.1's /admin/metrics/prometheus, trimmed.
	body := `# HELP http_requests_total Total number of requests
# TYPE http_requests_total counter
http_requests_total{app="kratos",buildTime="",code="200",endpoint="/sessions/whoami",hash="",method="get",version=""} 1.2345e+06
http_requests_total{app="kratos",buildTime="",code="401",endpoint="/sessions/whoami",hash="",method="get",version=""} 3
http_requests_total{app="kratos",buildTime="",code="200",endpoint="/health/ready",hash="",method="get",version=""} 7
http_requests_duration_seconds_count{app="kratos",buildTime="",code="401",endpoint="/sessions/whoami",hash="",method="get",version=""} 3
http_response_time_seconds_count{app="kratos",buildTime="",endpoint="/sessions/whoami",hash="",version=""} 3
`
	n, ok := whoamiCount([]byte(body))
	if !ok || n != 1234503 {
		t.Fatalf("whoamiCount = %d, %v; want 1234503, true", n, ok)
	}
	if _, ok := whoamiCount([]byte("# nothing\n")); ok {
		t.Fatal("whoamiCount found a counter in an exposition without one")
	}
}

func TestSnippetMiddleware(t *testing.T) {
	fake := newFakeWhoami(t)
	a, err := startSnippetApp(fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	checked, err := checkGuard(context.Background(), a.URL+"/r", []credential{{credToken, fakeTokenAAL2}, {credToken, fakeTokenAAL2}}, fakeStepUp, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(checked)
	if got := status(t, a.URL+"/r", http.Header{"Cookie": {"a=b; ory_kratos_session=" + fakeCookieAAL2}}); got != http.StatusOK {
		t.Fatalf("aal2 cookie: %d, want 200", got)
	}
	// Two tokens, four denials (the credential-less one asks too: the snippet always does),
	// and the cookie: every request asked whoami.
	if got := fake.calls.Load(); got != 7 {
		t.Fatalf("whoami calls = %d, want 7 (one per request)", got)
	}
}

func TestProcessCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc only")
	}
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	if got := processCPU(os.Getpid()); got <= 0 {
		t.Fatalf("processCPU(self) = %v after spinning 50 ms", got)
	}
	if got := processCPU(-1); got != 0 {
		t.Fatalf("processCPU(-1) = %v, want 0", got)
	}
}

// TestAnchorConfigs runs the cached Oathkeeper and Heimdall binaries (it does not build them:
// run scripts/build-anchors.sh first) against a fake whoami: aal2 credentials in either form
// pass, the rest is denied, Oathkeeper asks whoami on every request and Heimdall once per
// credential and TTL.
func TestAnchorConfigs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the proxies")
	}
	fake := newFakeWhoami(t)
	upstream, err := startApp("nethttp", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer upstream.close()
	for _, tc := range []struct {
		name, env, version string
		callsPerRequest    bool
	}{
		{"oathkeeper", "ORYMFA_OATHKEEPER_BIN", oathkeeperVersion, true},
		{"heimdall", "ORYMFA_HEIMDALL_BIN", heimdallVersion, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := cachedBinary(tc.env, tc.name+"-"+tc.version)
			if bin == "" {
				t.Skipf("no %s binary: run scripts/build-anchors.sh or set %s", tc.name, tc.env)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			a, err := startAnchor(ctx, tc.name, bin, t.TempDir(), fake.URL, upstream.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer a.stop()
			checked, err := checkGuard(ctx, a.url+"/r", []credential{{credToken, fakeTokenAAL2}, {credCookie, fakeCookieAAL2}}, fakeStepUp, false)
			if err != nil {
				t.Fatalf("%v%s", err, a.logTail())
			}
			t.Log(checked)
			cookie := http.Header{"Cookie": {"a=b; ory_kratos_session=" + fakeCookieAAL2}}
			if got := status(t, a.url+"/r", cookie); got != http.StatusOK {
				t.Fatalf("aal2 cookie: %d, want 200%s", got, a.logTail())
			}
			calls0 := fake.calls.Load()
			for range 5 {
				if got := status(t, a.url+"/r", http.Header{"X-Session-Token": {fakeTokenAAL2}}); got != http.StatusOK {
					t.Fatalf("aal2 token: %d, want 200", got)
				}
				if got := status(t, a.url+"/r", cookie); got != http.StatusOK {
					t.Fatalf("aal2 cookie: %d, want 200", got)
				}
			}
			calls := fake.calls.Load() - calls0
			if want := int64(10); tc.callsPerRequest && calls != want {
				t.Fatalf("%d whoami calls for 10 requests, want %d", calls, want)
			}
			if !tc.callsPerRequest && calls != 0 {
				t.Fatalf("%d whoami calls for 10 requests of two cached credentials, want 0", calls)
			}
			if c := a.cpu(); runtime.GOOS == "linux" && c <= 0 {
				t.Fatalf("cpu() = %v for a running proxy", c)
			}
		})
	}
}

// cachedBinary is $env, or the binary scripts/build-anchors.sh leaves in the cache, or "".
func cachedBinary(env, file string) string {
	if bin := os.Getenv(env); bin != "" {
		return bin
	}
	dir := os.Getenv("ORYMFA_CACHE")
	if dir == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return ""
			}
			base = filepath.Join(home, ".cache")
		}
		dir = filepath.Join(base, "orymfa")
	}
	bin := filepath.Join(dir, "bin", file)
	if _, err := os.Stat(bin); err != nil {
		return ""
	}
	return bin
}

// status GETs target with hdr (not following redirects) and returns the status code.
func status(t *testing.T, target string, hdr http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = hdr
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
