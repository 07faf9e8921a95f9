package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/conformance"
	"github.com/orymfa/orymfa/internal/kratostest"
)

// BenchmarkAnchors puts the loopback load, against the same Kratos and in the same run, in
// front of what users would run instead of orymfa:
//
//   - case=bare: the upstream, the nethttp app's unguarded route;
//   - case=orymfa: the same app's RequireAAL2 route, with the session cache (10 s TTL);
//   - case=oathkeeper: Oathkeeper v0.40.9 as a proxy to the upstream, cookie_session and
//     bearer_token authenticators (which cache nothing: a whoami per request), allow, noop;
//   - case=heimdall: Heimdall v0.17.18 as a proxy, a generic authenticator asking whoami with
//     its cache on (cache_ttl 10s, orymfa's default TTL);
//   - case=snippet: Ory's Go middleware snippet, client-go's whoami on every request.
//
// Kratos enforces aal2 itself (whoami requires the highest available AAL), so the anchors need
// no AAL check of their own; before measuring, each must answer 200 for the load's sessions
// and refuse an unknown cookie and an aal1 session. The proxies are built from their Go
// modules by scripts/build-anchors.sh (a few minutes the first time, then cached); their CPU
// counts in cpu-ns/op.
func BenchmarkAnchors(b *testing.B) {
	bd := kratosBed(b)
	bins := buildAnchors(b)
	nethttp, _ := conformance.AdapterNamed("nethttp")
	app := serveApp(b, nethttp, bd.p.PublicURL, core.CacheConfig{})
	upstream := app.url + "/public"
	snippet := httptest.NewServer(snippetMiddleware(bd.p.PublicURL, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})))
	b.Cleanup(snippet.Close)
	oathkeeper, okPid := startAnchor(b, bins[0], "oathkeeper", bd.p.PublicURL, app.url, bd.cookies[0])
	heimdall, hdPid := startAnchor(b, bins[1], "heimdall", bd.p.PublicURL, app.url, bd.cookies[0])
	for _, g := range []struct {
		name string
		url  string
		pids []int
	}{
		{"bare", upstream, nil},
		{"orymfa", app.url + "/aal2", nil},
		{"oathkeeper", oathkeeper + "/public", []int{okPid}},
		{"heimdall", heimdall + "/public", []int{hdPid}},
		{"snippet", snippet.URL + "/public", nil},
	} {
		if g.name != "bare" {
			checkDenies(b, g.name, g.url, bd.aal1)
		}
		calls := &whoamiCount{count: func() int64 { return bd.whoamiCalls(b) }}
		if g.name == "bare" {
			calls = nil // no guard, no whoami to count
		}
		b.Run("case="+g.name, func(b *testing.B) { load(b, g.url, bd.cookies, calls, g.pids...) })
	}
}

// buildAnchors returns the Oathkeeper and Heimdall binaries, built or found in the cache by
// scripts/build-anchors.sh.
func buildAnchors(b *testing.B) []string {
	cmd := exec.Command("../scripts/build-anchors.sh", "oathkeeper", "heimdall")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("scripts/build-anchors.sh: %v", err)
	}
	bins := strings.Fields(string(out))
	if len(bins) != 2 {
		b.Fatalf("scripts/build-anchors.sh printed %q, want two paths", out)
	}
	return bins
}

// checkDenies fails the benchmark unless the guard at url refuses an unknown session cookie
// and an aal1 session token (no redirects followed), so that a misconfigured anchor is never
// measured as a fast one.
func checkDenies(b *testing.B, name, url, aal1 string) {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for what, h := range map[string][2]string{
		"an unknown cookie":    {"Cookie", browserCookie(kratostest.SessionCookieName + "=MTc" + strings.Repeat("x", 400))},
		"an aal1 session":      {"X-Session-Token", aal1},
		"no credential at all": {"Accept", "application/json"},
	} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set(h[0], h[1])
		resp, err := client.Do(req)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			b.Fatalf("%s lets %s through", name, what)
		}
	}
}

// startAnchor runs a proxy (oathkeeper or heimdall) on a free loopback port in front of the
// upstream app, with Kratos's whoami as its authenticator, until the benchmark ends, and
// returns its URL and process id once its health endpoint answers and it lets the session
// cookie through.
func startAnchor(b *testing.B, bin, name, kratosURL, upstream, cookie string) (string, int) {
	dir := b.TempDir()
	ports := freePorts(b, 3)
	whoami := kratosURL + "/sessions/whoami"
	var args []string
	var health string
	switch name {
	case "oathkeeper":
		writeFile(b, dir, "rules.json", fmt.Sprintf(oathkeeperRules, upstream, ports[0]))
		writeFile(b, dir, "config.yaml", fmt.Sprintf(oathkeeperConfig, ports[0], ports[1], ports[2], filepath.Join(dir, "rules.json"), whoami, whoami))
		args = []string{"serve", "--config", filepath.Join(dir, "config.yaml")}
		health = fmt.Sprintf("http://127.0.0.1:%d/health/ready", ports[1])
	case "heimdall":
		writeFile(b, dir, "rules.yaml", fmt.Sprintf(heimdallRules, strings.TrimPrefix(upstream, "http://")))
		writeFile(b, dir, "config.yaml", fmt.Sprintf(heimdallConfig, ports[0], ports[1], whoami, filepath.Join(dir, "rules.yaml")))
		// --insecure: plain HTTP on loopback (Heimdall refuses to serve or call without TLS).
		args = []string{"serve", "proxy", "--insecure", "--config", filepath.Join(dir, "config.yaml")}
		health = fmt.Sprintf("http://127.0.0.1:%d/.well-known/health", ports[1])
	}
	var log bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "OTEL_SDK_DISABLED=true")
	cmd.Stdout, cmd.Stderr = &log, &log
	kratostest.DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, u := range []string{health, url + "/public"} {
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			req.Header.Set("Cookie", browserCookie(cookie))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-exited:
				b.Fatalf("%s exited: %s", name, log.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	if ctx.Err() != nil {
		b.Fatalf("%s did not answer 200 within a minute", name)
	}
	return url, cmd.Process.Pid
}

func freePorts(tb testing.TB, n int) []int {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func writeFile(tb testing.TB, dir, name, content string) {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// snippetMiddleware is Ory's Go middleware snippet ("Integrate authentication into Go"): every
// request asks whoami (FrontendAPI.ToSession) with the request's cookies through client-go's
// default client, and is redirected to the login flow unless the session is active; the
// session goes into the request's context. It also forwards X-Session-Token (for the deny
// check) and does not log each request.
func snippetMiddleware(kratosURL string, next http.Handler) http.Handler {
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: kratosURL}}
	api := ory.NewAPIClient(cfg)
	type sessionKey struct{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := api.FrontendAPI.ToSession(r.Context())
		if cookies := r.Header.Get("Cookie"); cookies != "" {
			req = req.Cookie(cookies)
		}
		if token := r.Header.Get("X-Session-Token"); token != "" {
			req = req.XSessionToken(token)
		}
		session, _, err := req.Execute()
		if err != nil || session == nil || !session.GetActive() {
			http.Redirect(w, r, kratosURL+"/self-service/login/browser", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, session)))
	})
}

// Oathkeeper's config (proxy, API and Prometheus listeners on loopback; errors only in the
// log) and access rule: GET /public goes to the upstream when Kratos's whoami accepts the
// request's ory_kratos_session cookie or X-Session-Token.
const oathkeeperConfig = `log:
  level: error
serve:
  proxy: {host: 127.0.0.1, port: %d}
  api: {host: 127.0.0.1, port: %d}
  prometheus: {host: 127.0.0.1, port: %d}
access_rules:
  repositories: ["file://%s"]
authenticators:
  cookie_session:
    enabled: true
    config: {check_session_url: %q, preserve_path: true, force_method: GET, only: [ory_kratos_session], subject_from: identity.id, extra_from: "@this"}
  bearer_token:
    enabled: true
    config: {check_session_url: %q, preserve_path: true, force_method: GET, token_from: {header: X-Session-Token}, forward_http_headers: [X-Session-Token], subject_from: identity.id, extra_from: "@this"}
authorizers:
  allow: {enabled: true}
mutators:
  noop: {enabled: true}
`

const oathkeeperRules = `[{"id": "orymfa-anchor", "upstream": {"url": %q},
  "match": {"url": "http://127.0.0.1:%d/public", "methods": ["GET"]},
  "authenticators": [{"handler": "cookie_session"}, {"handler": "bearer_token"}],
  "authorizer": {"handler": "allow"}, "mutators": [{"handler": "noop"}]}]
`

// Heimdall's config (proxy and management listeners on loopback; no access log, tracing or
// metrics) and rule: GET /public goes to the upstream when whoami accepts the cookie or token,
// whoami's answer cached for 10 s (bounded by the session's expires_at).
const heimdallConfig = `serve: {host: 127.0.0.1, port: %d}
management: {host: 127.0.0.1, port: %d}
log: {level: error, access_log_enabled: false}
tracing: {enabled: false}
metrics: {enabled: false}
cache: {type: in-memory}
mechanisms:
  authenticators:
    - id: kratos_session
      type: generic
      config:
        identity_info_endpoint: {url: %q, method: GET}
        authentication_data_source: [{cookie: ory_kratos_session}, {header: X-Session-Token}]
        forward_cookies: [ory_kratos_session]
        forward_headers: [X-Session-Token]
        subject: {id: identity.id}
        cache_ttl: 10s
        session_lifespan: {active: active, issued_at: issued_at, not_after: expires_at, time_format: "2006-01-02T15:04:05.999999999Z07:00"}
providers:
  file_system: {src: %q, watch: false}
`

const heimdallRules = `version: "1alpha4"
rules:
  - id: orymfa-anchor
    match: {routes: [{path: /public}], methods: [GET]}
    forward_to: {host: %q}
    execute: [{authenticator: kratos_session}]
`
