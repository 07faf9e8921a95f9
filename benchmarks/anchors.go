package main

// The -anchors mode: what users would otherwise put in front of their app, measured in the
// same run, against the same Kratos and with the same load as the adapters' table.
//
//   - Oathkeeper v0.40.9 in proxy mode: cookie_session (ory_kratos_session cookie) and
//     bearer_token (X-Session-Token header) authenticators asking Kratos's whoami on every
//     request (Oathkeeper has no cache for either), allow authorizer, noop mutator;
//   - Heimdall v0.17.18 in proxy mode: a generic authenticator asking whoami, with its session
//     cache on (cache_ttl 10s, the same TTL as orymfa's default cache);
//   - Ory's middleware snippet: a plain net/http middleware calling whoami with client-go on
//     every request.
//
// Each proxies to the same bare upstream (the nethttp app without a verifier), which is also
// measured directly: the ratios are against it, round by round. orymfa's cached nethttp guard
// runs in the same rounds for reference. The proxies are built by scripts/build-anchors.sh
// (cached next to the Kratos binary) and run as child processes on free loopback ports with
// their configs in a temp dir. Kratos enforces aal2 itself (the project's whoami requires the
// highest available AAL), so the anchors need no AAL check of their own; that every anchor
// answers 200 for the load's sessions and denies an unknown credential and an aal1 session is
// checked before anything is measured.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/kratostest"
)

const (
	oathkeeperVersion = "v0.40.9"
	heimdallVersion   = "v0.17.18"
	// anchorCacheTTL is Heimdall's cache_ttl: the TTL of orymfa's default cache.
	anchorCacheTTL = 10 * time.Second
)

// anchorsEnabled is set by the -anchors flag (main.go).
var anchorsEnabled bool

const anchorsUsage = "also measure Oathkeeper " + oathkeeperVersion + ", Heimdall " + heimdallVersion +
	" and Ory's per-request whoami snippet against the same Kratos (builds the proxies with scripts/build-anchors.sh on first use)"

// guard is one row of the anchors table: a URL the load is sent to, and the child process
// behind it whose CPU counts too (nil for in-process apps).
type guard struct {
	cell   *cell
	url    string
	proc   *anchorProc
	client *http.Client // kept across rounds, so its connections stay open
}

// runAnchors measures the anchors against Kratos p with the adapters' load (creds, one session
// per worker, cookies or tokens) and prints their table to out.
func runAnchors(ctx context.Context, p *kratostest.Project, creds []credential, rounds, conc int, warmup, duration time.Duration, out io.Writer) error {
	fmt.Fprintf(out, "\nanchors: building or reusing Oathkeeper %s and Heimdall %s (scripts/build-anchors.sh)...\n", oathkeeperVersion, heimdallVersion)
	bins, err := anchorBinaries(ctx)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "orymfa-anchors-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	upstream, err := startApp("nethttp", nil)
	if err != nil {
		return err
	}
	defer upstream.close()

	v, conns, err := newVerifier(p.PublicURL, core.CacheConfig{})
	if err != nil {
		return err
	}
	defer conns.Close()
	cached, err := startApp("nethttp", v)
	if err != nil {
		return err
	}
	defer cached.close()

	snippet, err := startSnippetApp(p.PublicURL)
	if err != nil {
		return err
	}
	defer snippet.close()

	oathkeeper, err := startAnchor(ctx, "oathkeeper", bins["oathkeeper"], filepath.Join(dir, "oathkeeper"), p.PublicURL, upstream.URL)
	if err != nil {
		return err
	}
	defer oathkeeper.stop()
	heimdall, err := startAnchor(ctx, "heimdall", bins["heimdall"], filepath.Join(dir, "heimdall"), p.PublicURL, upstream.URL)
	if err != nil {
		return err
	}
	defer heimdall.stop()

	guards := []guard{
		{cell: &cell{adapter: "anchors", name: "bare (the upstream, no guard)"}, url: upstream.URL},
		{cell: &cell{adapter: "anchors", name: "orymfa nethttp RequireAAL2, cached 10 s"}, url: cached.URL},
		{cell: &cell{adapter: "anchors", name: "Oathkeeper " + oathkeeperVersion + " cookie_session / bearer_token, no cache"}, url: oathkeeper.url, proc: oathkeeper},
		{cell: &cell{adapter: "anchors", name: "Heimdall " + heimdallVersion + " generic, cache_ttl 10s"}, url: heimdall.url, proc: heimdall},
		{cell: &cell{adapter: "anchors", name: "Ory snippet: client-go whoami per request"}, url: snippet.URL},
	}
	for i := range guards {
		guards[i].client = newClient(conc)
		defer guards[i].client.CloseIdleConnections()
	}

	// Before measuring: every guard lets the load's sessions through and denies what it must,
	// so a misconfigured anchor that lets everything through cannot be measured as fast.
	aal1, err := aal1Token(ctx, p)
	if err != nil {
		return fmt.Errorf("anchors: aal1 session for the deny check: %w", err)
	}
	for i, g := range guards {
		checked, err := checkGuard(ctx, g.url+"/r", creds, aal1, i == 0)
		if err != nil {
			return fmt.Errorf("anchors: %s: %w%s", g.cell.name, err, g.proc.logTail())
		}
		fmt.Fprintf(out, "  %-58s %s\n", g.cell.name, checked)
	}

	_, counted := kratosWhoamiCalls(ctx, p.AdminURL)
	for round := 1; round <= rounds; round++ {
		fmt.Fprintf(out, "anchors round %d/%d (load average %s)\n", round, rounds, loadAvg())
		for _, g := range guards {
			warm := warmup
			if round > 1 {
				warm = min(warmup, 100*time.Millisecond)
			}
			ext0 := g.proc.cpu()
			before, ok1 := kratosWhoamiCalls(ctx, p.AdminURL)
			res, err := load(ctx, g.client, g.url+"/r", creds, conc, warm, duration)
			if err != nil {
				return err
			}
			res.CPU += g.proc.cpu() - ext0
			after, ok2 := kratosWhoamiCalls(ctx, p.AdminURL)
			counted = counted && ok1 && ok2
			g.cell.whoami += after - before
			g.cell.rounds = append(g.cell.rounds, res)
			fmt.Fprintf(out, "  %-58s %9.0f req/s  p50 %-9v p99 %-9v CPU/req %-8v errors %d %s\n", g.cell.name, res.RPS(), res.P50.Round(time.Microsecond), res.P99.Round(time.Microsecond), res.CPUPerRequest().Round(100*time.Nanosecond), res.Errors, res.FirstErr)
			if g.proc != nil && g.proc.exitedEarly() {
				return fmt.Errorf("anchors: %s exited during the load%s", g.cell.name, g.proc.logTail())
			}
		}
	}
	printAnchors(out, guards, rounds, conc, duration, creds[0].kind, counted)
	return nil
}

// printAnchors prints the anchors table: ratios against the bare upstream, taken within each
// round and the median shown, as in the adapters' table.
func printAnchors(out io.Writer, guards []guard, rounds, conc int, duration time.Duration, kind string, withWhoami bool) {
	bare := guards[0].cell
	fmt.Fprintf(out, "\nanchors: median of %d rounds (%v each, %d workers, keep-alive, one aal2 session per worker as a %s), the same Kratos as above. "+
		"CPU µs / request: this process (load generator, upstream, in-process guards) plus the proxy's process, Kratos excluded\n\n", rounds, duration, conc, kind)
	fmt.Fprintf(out, "| in front of the app | req/s | p50 | p99 | req/s of each round | CPU µs / request | errors | whoami calls / request | req/s ÷ bare, median of per-round ratios | bare ÷ this, CPU per request |\n|---|---:|---:|---:|---|---:|---:|---:|---:|---:|\n")
	for _, g := range guards {
		c := g.cell
		m := c.median()
		var each []string
		for _, r := range c.rounds {
			each = append(each, fmt.Sprintf("%.0f", r.RPS()))
		}
		n, errs := c.requests()
		perReq := "-"
		if withWhoami && n > 0 {
			perReq = fmt.Sprintf("%.5f (%d)", float64(c.whoami)/float64(n), c.whoami)
		}
		cpuRatio := "-"
		if cpu := c.cpuPerRequest(); cpu > 0 && bare.cpuPerRequest() > 0 {
			cpuRatio = fmt.Sprintf("%.3f", float64(bare.cpuPerRequest())/float64(cpu))
		}
		fmt.Fprintf(out, "| %s | %.0f | %v | %v | %s | %.1f | %d | %s | %.3f | %s |\n", c.name, m.RPS(), m.P50.Round(time.Microsecond), m.P99.Round(time.Microsecond),
			strings.Join(each, ", "), float64(c.cpuPerRequest())/1e3, errs, perReq, medianRatio(c, bare), cpuRatio)
	}
	if !withWhoami {
		fmt.Fprintf(out, "\n(whoami calls not counted: Kratos's metrics endpoint did not answer)\n")
	} else {
		fmt.Fprintf(out, "\nwhoami calls counted by Kratos (its Prometheus counter for /sessions/whoami), warm-ups included; nothing is added between the guards and Kratos\n")
	}
}

// anchorBinaries returns the Oathkeeper and Heimdall binaries: $ORYMFA_OATHKEEPER_BIN and
// $ORYMFA_HEIMDALL_BIN when set, otherwise what scripts/build-anchors.sh prints (it builds them
// into the cache the first time).
func anchorBinaries(ctx context.Context) (map[string]string, error) {
	bins := map[string]string{"oathkeeper": os.Getenv("ORYMFA_OATHKEEPER_BIN"), "heimdall": os.Getenv("ORYMFA_HEIMDALL_BIN")}
	var missing []string
	for _, name := range []string{"oathkeeper", "heimdall"} {
		if bins[name] == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return bins, nil
	}
	script, err := findScript("build-anchors.sh")
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, missing...)...)
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("anchors: %s: %w\n%s", script, err, stderr.String())
	}
	paths := strings.Fields(string(outb))
	if len(paths) != len(missing) {
		return nil, fmt.Errorf("anchors: %s printed %q, want %d paths", script, outb, len(missing))
	}
	for i, name := range missing {
		bins[name] = paths[i]
	}
	return bins, nil
}

// findScript looks for scripts/name above this source file, then above the working directory.
func findScript(name string) (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for {
			script := filepath.Join(dir, "scripts", name)
			if _, err := os.Stat(script); err == nil {
				return script, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("anchors: scripts/%s not found; set ORYMFA_OATHKEEPER_BIN and ORYMFA_HEIMDALL_BIN", name)
}

// anchorProc is a proxy running as a child process.
type anchorProc struct {
	name   string
	url    string // the proxy's listener: http://127.0.0.1:port
	cmd    *exec.Cmd
	exited chan struct{}
	log    *logBuffer
}

// startAnchor writes name's config into dir for free loopback ports, starts bin and waits
// until its health endpoint answers. Ports are picked free and released, so another process
// may take one first: a clash is retried.
func startAnchor(ctx context.Context, name, bin, dir, kratosURL, upstreamURL string) (*anchorProc, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		a, err := launchAnchor(ctx, name, bin, dir, kratosURL, upstreamURL)
		if err == nil {
			return a, nil
		}
		if attempt == 3 || ctx.Err() != nil || !strings.Contains(err.Error(), "address already in use") {
			return nil, err
		}
	}
}

func launchAnchor(ctx context.Context, name, bin, dir, kratosURL, upstreamURL string) (*anchorProc, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	var args []string
	var health string
	switch name {
	case "oathkeeper":
		cfg, rules := oathkeeperConfig(kratosURL, upstreamURL, filepath.Join(dir, "rules.json"), ports[0], ports[1], ports[2])
		if err := writeFiles(dir, map[string]string{"config.yaml": cfg, "rules.json": rules}); err != nil {
			return nil, err
		}
		args = []string{"serve", "--config", filepath.Join(dir, "config.yaml")}
		health = fmt.Sprintf("http://127.0.0.1:%d/health/ready", ports[1])
	case "heimdall":
		cfg, rules := heimdallConfig(kratosURL, upstreamURL, filepath.Join(dir, "rules.yaml"), ports[0], ports[1])
		if err := writeFiles(dir, map[string]string{"config.yaml": cfg, "rules.yaml": rules}); err != nil {
			return nil, err
		}
		// --insecure: plain HTTP on loopback (Heimdall refuses to serve or call without TLS).
		args = []string{"serve", "proxy", "--insecure", "--config", filepath.Join(dir, "config.yaml")}
		health = fmt.Sprintf("http://127.0.0.1:%d/.well-known/health", ports[1])
	default:
		return nil, fmt.Errorf("anchors: unknown anchor %q", name)
	}
	a := &anchorProc{name: name, url: "http://127.0.0.1:" + strconv.Itoa(ports[0]), exited: make(chan struct{}), log: &logBuffer{}}
	// Not CommandContext: ctx bounds only the startup, the process lives until stop.
	a.cmd = exec.Command(bin, args...)
	a.cmd.Dir = dir
	a.cmd.Env = append(os.Environ(), "OTEL_SDK_DISABLED=true")
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	kratostest.DieWithParent(a.cmd)
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("anchors: start %s: %w", bin, err)
	}
	go func() {
		_ = a.cmd.Wait()
		close(a.exited)
	}()
	if err := a.waitReady(ctx, health); err != nil {
		a.stop()
		return nil, fmt.Errorf("anchors: %s: %w%s", name, err, a.logTail())
	}
	return a, nil
}

// waitReady polls health until it answers 200, the process exits, or a minute passes.
func (a *anchorProc) waitReady(ctx context.Context, health string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-a.exited:
			return fmt.Errorf("exited before it was ready (%v)", a.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("not ready: %s did not answer 200: %w", health, ctx.Err())
		case <-tick.C:
		}
	}
}

// stop ends the process (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (a *anchorProc) stop() {
	if a == nil || a.cmd.Process == nil {
		return
	}
	select {
	case <-a.exited:
		return
	default:
	}
	_ = a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.exited:
	case <-time.After(5 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
}

func (a *anchorProc) exitedEarly() bool {
	select {
	case <-a.exited:
		return true
	default:
		return false
	}
}

// cpu is the process's CPU time so far (0 for an in-process guard or where not measurable).
func (a *anchorProc) cpu() time.Duration {
	if a == nil || a.cmd.Process == nil {
		return 0
	}
	return processCPU(a.cmd.Process.Pid)
}

// logTail returns the end of the process's output, for error messages.
func (a *anchorProc) logTail() string {
	if a == nil {
		return ""
	}
	s := a.log.String()
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return "\n--- " + a.name + " output ---\n" + s
}

// logBuffer keeps a child's output, bounded: the first and last 64 KiB.
type logBuffer struct {
	mu         sync.Mutex
	head, tail []byte
	dropped    int
}

const logKeep = 64 << 10

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if room := logKeep - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	b.tail = append(b.tail, p...)
	if over := len(b.tail) - logKeep; over > 0 {
		b.dropped += over
		b.tail = append(b.tail[:0], b.tail[over:]...)
	}
	return n, nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return fmt.Sprintf("%s\n[... %d bytes ...]\n%s", b.head, b.dropped, b.tail)
	}
	return string(b.head) + string(b.tail)
}

// freePorts returns n distinct free loopback ports (released again before returning).
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func writeFiles(dir string, files map[string]string) error {
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// oathkeeperConfig returns Oathkeeper's config and access rules: the proxy on proxyPort
// forwards GET /r to upstream when the request carries an ory_kratos_session cookie
// (cookie_session) or an X-Session-Token header (bearer_token) that Kratos's whoami accepts.
// Both authenticators send every request to whoami: Oathkeeper caches neither. Its API (health)
// and Prometheus listeners are on loopback too; logging is at error level, so no request is
// logged (orymfa's cells log nothing either).
func oathkeeperConfig(kratosURL, upstreamURL, rulesPath string, proxyPort, apiPort, promPort int) (config, rules string) {
	whoami := strings.TrimRight(kratosURL, "/") + "/sessions/whoami"
	config = fmt.Sprintf(`log:
  level: error
serve:
  proxy:
    host: 127.0.0.1
    port: %d
  api:
    host: 127.0.0.1
    port: %d
  prometheus:
    host: 127.0.0.1
    port: %d
access_rules:
  repositories:
    - file://%s
authenticators:
  cookie_session:
    enabled: true
    config:
      check_session_url: %s
      preserve_path: true
      force_method: GET
      only:
        - ory_kratos_session
      subject_from: identity.id
      extra_from: "@this"
  bearer_token:
    enabled: true
    config:
      check_session_url: %s
      preserve_path: true
      force_method: GET
      token_from:
        header: X-Session-Token
      forward_http_headers:
        - X-Session-Token
      subject_from: identity.id
      extra_from: "@this"
authorizers:
  allow:
    enabled: true
mutators:
  noop:
    enabled: true
`, proxyPort, apiPort, promPort, rulesPath, whoami, whoami)
	rules = fmt.Sprintf(`[
  {
    "id": "orymfa-anchor",
    "upstream": {"url": %q},
    "match": {"url": "http://127.0.0.1:%d/r", "methods": ["GET"]},
    "authenticators": [{"handler": "cookie_session"}, {"handler": "bearer_token"}],
    "authorizer": {"handler": "allow"},
    "mutators": [{"handler": "noop"}]
  }
]
`, upstreamURL, proxyPort)
	return config, rules
}

// heimdallConfig returns Heimdall's config and rule set: the proxy on proxyPort forwards
// GET /r to upstream when the request's ory_kratos_session cookie or X-Session-Token header is
// accepted by whoami, caching whoami's answer for cache_ttl (bounded by the session's
// expires_at, which session_lifespan reads) in Heimdall's in-memory cache. The management
// listener (health) is on loopback; the access log, tracing and metrics are off, so Heimdall
// does no per-request work beyond the check and the proxying.
func heimdallConfig(kratosURL, upstreamURL, rulesPath string, proxyPort, mgmtPort int) (config, rules string) {
	whoami := strings.TrimRight(kratosURL, "/") + "/sessions/whoami"
	config = fmt.Sprintf(`serve:
  host: 127.0.0.1
  port: %d
management:
  host: 127.0.0.1
  port: %d
log:
  level: error
  access_log_enabled: false
tracing:
  enabled: false
metrics:
  enabled: false
cache:
  type: in-memory
mechanisms:
  authenticators:
    - id: kratos_session
      type: generic
      config:
        identity_info_endpoint:
          url: %s
          method: GET
        authentication_data_source:
          - cookie: ory_kratos_session
          - header: X-Session-Token
        forward_cookies:
          - ory_kratos_session
        forward_headers:
          - X-Session-Token
        subject:
          id: identity.id
        cache_ttl: %s
        session_lifespan:
          active: active
          issued_at: issued_at
          not_after: expires_at
          time_format: "2006-01-02T15:04:05.999999999Z07:00"
providers:
  file_system:
    src: %s
    watch: false
`, proxyPort, mgmtPort, whoami, anchorCacheTTL, rulesPath)
	u := strings.TrimPrefix(upstreamURL, "http://")
	rules = fmt.Sprintf(`version: "1alpha4"
rules:
  - id: orymfa-anchor
    match:
      routes:
        - path: /r
      methods:
        - GET
    forward_to:
      host: %q
    execute:
      - authenticator: kratos_session
`, u)
	return config, rules
}

// startSnippetApp serves GET /r behind Ory's middleware snippet, on its own loopback
// listener.
func startSnippetApp(kratosURL string) (*app, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(okBody) })
	mux := http.NewServeMux()
	mux.Handle("GET /r", snippetMiddleware(snippetClient(kratosURL), ok))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &app{URL: "http://" + ln.Addr().String(), close: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}}, nil
}

// snippetClient is the snippet's Ory client: ory.NewConfiguration with the server URL and
// nothing else, so its HTTP client is http.DefaultClient (http.DefaultTransport keeps 2 idle
// connections per host), as in Ory's example.
func snippetClient(kratosURL string) *ory.APIClient {
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: strings.TrimRight(kratosURL, "/")}}
	return ory.NewAPIClient(cfg)
}

type snippetSessionKey struct{}

// snippetMiddleware is Ory's Go middleware snippet ("Integrate authentication into Go"): every
// request asks whoami (FrontendAPI.ToSession) with the request's cookies, and is redirected to
// the login flow unless the session is active; the session goes into the request context.
// Differences: it also forwards X-Session-Token (the load's credential), treats a session
// without "active" as inactive instead of dereferencing nil, and does not log each request.
func snippetMiddleware(api *ory.APIClient, next http.Handler) http.Handler {
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
			http.Redirect(w, r, "/self-service/login/browser", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), snippetSessionKey{}, session)))
	})
}

// aal1Token registers a user, enrolls TOTP and logs in with the password only: an aal1
// session of a user who has a second factor, which whoami (highest_available) rejects.
func aal1Token(ctx context.Context, p *kratostest.Project) (string, error) {
	email := kratostest.NewEmail()
	token, err := p.RegisterAPI(ctx, email, kratostest.Password)
	if err != nil {
		return "", err
	}
	if _, err := p.EnrollTOTPAPI(ctx, token); err != nil {
		return "", err
	}
	aal1, err := p.LoginAPI(ctx, email, kratostest.Password)
	if err != nil {
		return "", err
	}
	status, body, err := p.Whoami(ctx, aal1)
	if err != nil {
		return "", err
	}
	if status == http.StatusOK {
		return "", fmt.Errorf("whoami accepted the password-only session (aal %q): the deny check needs a project that requires aal2", kratostest.AAL(body))
	}
	return aal1, nil
}

// checkGuard sends each credential once, with the headers the load sends, and expects 200,
// retrying the first for up to 10 s while a proxy loads its rules. Unless bare, it then
// expects a non-200 answer (without following redirects) for an unknown session token, an
// unknown session cookie, an aal1 session token, and no credential.
func checkGuard(ctx context.Context, target string, creds []credential, aal1 string, bare bool) (string, error) {
	if err := checkLoopback(target); err != nil {
		return "", err
	}
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	get := func(hdr http.Header) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return 0, err
		}
		req.Header = hdr
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for i, c := range creds {
		for {
			status, err := get(c.header())
			if err == nil && status == http.StatusOK {
				break
			}
			if i > 0 || time.Now().After(deadline) || ctx.Err() != nil {
				if err != nil {
					return "", fmt.Errorf("aal2 %s %d of %d: %w", c.kind, i+1, len(creds), err)
				}
				return "", fmt.Errorf("aal2 %s %d of %d answered %d, want 200", c.kind, i+1, len(creds), status)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if bare {
		return fmt.Sprintf("%d aal2 %ss → 200 (bare: no deny check)", len(creds), creds[0].kind), nil
	}
	var denied []string
	for _, c := range []struct {
		what string
		hdr  http.Header
	}{
		{"unknown token", credential{credToken, randomToken()}.header()},
		{"unknown cookie", credential{credCookie, randomHex(214)}.header()},
		{"aal1 session", http.Header{"X-Session-Token": {aal1}}},
		{"no credential", http.Header{}},
	} {
		status, err := get(c.hdr)
		if err != nil {
			return "", fmt.Errorf("%s: %w", c.what, err)
		}
		if status == http.StatusOK {
			return "", fmt.Errorf("%s answered 200: the guard lets it through", c.what)
		}
		denied = append(denied, fmt.Sprintf("%s → %d", c.what, status))
	}
	return fmt.Sprintf("%d aal2 %ss → 200; %s", len(creds), creds[0].kind, strings.Join(denied, ", ")), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// kratosWhoamiCalls reads how many whoami requests Kratos has served from its Prometheus
// endpoint on the admin API, so the anchors' whoami calls are counted without putting
// anything between them and Kratos. ok is false when the endpoint does not answer.
func kratosWhoamiCalls(ctx context.Context, adminURL string) (n int64, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, adminURL+"/admin/metrics/prometheus", nil)
	if err != nil {
		return 0, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, false
	}
	return whoamiCount(body)
}

// whoamiCount sums Kratos's http_requests_total counters of /sessions/whoami (one per status
// code) in its Prometheus text exposition.
func whoamiCount(body []byte) (int64, bool) {
	var total float64
	found := false
	for line := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(line, "#") || !strings.Contains(line, `"/sessions/whoami"`) {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		if name != "http_requests_total" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[i+1:]), 64)
		if err != nil {
			continue
		}
		total += v
		found = true
	}
	return int64(total), found
}
