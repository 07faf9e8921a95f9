package kratostest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind selects how a project's users prove a second factor.
type Kind int

const (
	// CodeMFA offers one-time codes by email as second factor (code.mfa_enabled), next to
	// passwords. In Kratos v1.3.1 every identity with an email then counts as having a second
	// factor, so whoami answers 403 session_aal2_required for every aal1 session.
	CodeMFA Kind = iota + 1
	// TOTP offers password, TOTP and lookup secrets. Users start without a second factor and
	// enroll one in the settings flow.
	TOTP
)

// String returns the kind's name, for test names and error messages.
func (k Kind) String() string {
	switch k {
	case CodeMFA:
		return "CodeMFA"
	case TOTP:
		return "TOTP"
	default:
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
}

// Password passes Kratos's password policy (length, and not similar to the email). The
// haveibeenpwned check is off in every project, since tests run without network.
const Password = "orymfa-Test-Passw0rd-7Q"

// SessionCookieName is the cookie a self-hosted Kratos keeps the browser session in.
const SessionCookieName = "ory_kratos_session"

// Option changes the configuration of a project started by [Start].
type Option func(*config)

type config struct {
	lax        bool
	persistent bool
	returnURLs []string
}

// WithPersistentStore keeps identities and sessions in an SQLite file in the project's
// directory instead of memory (a migration runs first, about a second), so that they survive
// [Project.Stop] and [Project.Restart]: for tests of what an app does while Ory is down.
func WithPersistentStore() Option { return func(c *config) { c.persistent = true } }

// WithLax makes whoami accept aal1 sessions (session.whoami.required_aal: aal1), so whoami
// never says whether a second factor exists. Without it the project is Strict
// (highest_available), Ory's default.
func WithLax() Option { return func(c *config) { c.lax = true } }

// WithAllowedReturnURLs adds to selfservice.allowed_return_urls, for tests whose app runs on
// another origin than http://127.0.0.1/ or http://localhost/ (always allowed).
func WithAllowedReturnURLs(urls ...string) Option {
	return func(c *config) { c.returnURLs = append(c.returnURLs, urls...) }
}

// Project is one running Kratos with its courier sink and whoami-counting proxy.
type Project struct {
	// Kind is the kind of project that was started.
	Kind Kind
	// Lax reports whether whoami accepts aal1 sessions (see [WithLax]).
	Lax bool
	// PublicURL is Kratos's public API, without a trailing slash.
	PublicURL string
	// AdminURL is Kratos's admin API, without a trailing slash.
	AdminURL string
	// ProxyURL is a reverse proxy to PublicURL that counts whoami calls; point the middleware
	// under test at it.
	ProxyURL string

	dir     string
	bin     string // the Kratos binary
	cfgPath string
	mu      sync.Mutex // Stop and Restart
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the Kratos process has exited
	log     *syncBuffer
	courier *courier
	// courierURL is where Kratos POSTs its emails (courier.http.request_config.url).
	courierURL string
	proxy      *whoamiProxy
	servers    []*httptest.Server
	client     *http.Client
	once       sync.Once
	tokens     *tokenizer // the tokenizer templates' key (tokenizer.go)
}

// Start launches one Kratos process of the given kind and waits until it is ready; ctx bounds
// the wait (and the Kratos build, if the binary is not cached yet). Each call costs one to two
// seconds, so start projects once per test package, in TestMain. Close stops everything.
func Start(ctx context.Context, kind Kind, opts ...Option) (*Project, error) {
	if kind != CodeMFA && kind != TOTP {
		return nil, fmt.Errorf("kratostest: unknown kind %v", kind)
	}
	var c config
	for _, o := range opts {
		o(&c)
	}
	bin, err := kratosBinary(ctx)
	if err != nil {
		return nil, err
	}

	p := &Project{Kind: kind, Lax: c.lax, client: &http.Client{Transport: ownTransport(), Timeout: 30 * time.Second}}
	if p.tokens, err = newTokenizer(); err != nil {
		return nil, err
	}
	// The config lives in its own temp dir rather than t.TempDir: a project outlives any one test.
	if p.dir, err = os.MkdirTemp("", "kratostest-"); err != nil {
		return nil, fmt.Errorf("kratostest: %w", err)
	}
	p.courier = newCourier()
	courierSrv := httptest.NewServer(p.courier)
	p.servers = append(p.servers, courierSrv)
	p.courierURL = courierSrv.URL + "/messages"

	// The ports are picked free and then released, so another process may grab one before
	// Kratos binds it: retry on a clash instead of failing the whole test package.
	for attempt := 1; ; attempt++ {
		err = p.launch(ctx, bin, kind, c)
		if err == nil {
			break
		}
		if attempt == 3 || ctx.Err() != nil || !strings.Contains(err.Error(), "address already in use") {
			p.Close()
			return nil, err
		}
	}

	p.proxy, err = newWhoamiProxy(p.PublicURL)
	if err != nil {
		p.Close()
		return nil, err
	}
	proxy := httptest.NewServer(p.proxy)
	p.servers = append(p.servers, proxy)
	p.ProxyURL = proxy.URL
	return p, nil
}

// launch writes the config for fresh ports, starts Kratos and waits for /health/ready.
func (p *Project) launch(ctx context.Context, bin string, kind Kind, c config) error {
	publicPort, err := pickPort()
	if err != nil {
		return err
	}
	adminPort, err := pickPort()
	if err != nil {
		return err
	}
	p.PublicURL = "http://127.0.0.1:" + strconv.Itoa(publicPort)
	p.AdminURL = "http://127.0.0.1:" + strconv.Itoa(adminPort)

	cfgPath, err := p.writeConfig(kind, c, publicPort, adminPort)
	if err != nil {
		return err
	}
	p.bin, p.cfgPath = bin, cfgPath
	p.log = &syncBuffer{}
	if c.persistent {
		// The SQLite file needs its tables before the first serve.
		migrate := exec.CommandContext(ctx, bin, "migrate", "sql", "--yes", "--read-from-env", "--config", cfgPath)
		migrate.Dir, migrate.Stdout, migrate.Stderr = p.dir, p.log, p.log
		if err := migrate.Run(); err != nil {
			return fmt.Errorf("kratostest: migrate: %w\n--- kratos log ---\n%s", err, p.log.String())
		}
	}
	return p.serve(ctx)
}

// serve starts the Kratos process with the written config and waits until it is ready.
func (p *Project) serve(ctx context.Context) error {
	// Not CommandContext: ctx bounds only the startup, the process lives until Close.
	cmd := exec.Command(p.bin, "serve", "--dev", "--watch-courier", "--config", p.cfgPath)
	cmd.Dir = p.dir
	cmd.Stdout = p.log
	cmd.Stderr = p.log
	DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("kratostest: start %s: %w", p.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited

	if err := p.waitReady(ctx); err != nil {
		p.stop()
		return fmt.Errorf("%w\n--- kratos log ---\n%s", err, p.log.String())
	}
	return nil
}

// Stop kills the Kratos process and waits for it to exit; the ports, the config, the courier
// sink and the proxy stay, so that [Project.Restart] brings the same Kratos back. Without
// [WithPersistentStore] a restart loses every identity and session. It is safe to call more
// than once.
func (p *Project) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stop()
}

// Restart starts Kratos again after [Project.Stop], on the same public and admin URLs, and
// waits until it is ready; ctx bounds the wait. If another process took one of the ports in
// the meantime, it fails rather than move to another one.
func (p *Project) Restart(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.ProcessState == nil {
		select {
		case <-p.exited:
		default:
			return fmt.Errorf("kratostest: Restart: kratos is still running")
		}
	}
	return p.serve(ctx)
}

// waitReady polls /health/ready until Kratos answers 200, the process exits or ctx ends.
func (p *Project) waitReady(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		// Never wait forever on a Kratos that hangs.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Minute)
		defer cancel()
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		// Both ports: Kratos binds them one after the other, and when another process took
		// the public port its admin port can answer ready just before it exits.
		if p.answersReady(ctx, p.AdminURL+"/admin/health/ready") && p.answersReady(ctx, p.PublicURL+"/health/ready") {
			return nil
		}
		select {
		case <-p.exited:
			// Kratos v1.3.1 exits with status 0 even on a bad config or a port in use; the
			// reason is only in its log, which the caller appends.
			return fmt.Errorf("kratostest: kratos exited before it was ready (%v)", p.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("kratostest: waiting for kratos to be ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// answersReady reports whether url answers 200 within a second: a port another process
// holds may accept the connection and never answer.
func (p *Project) answersReady(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	res, err := p.client.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// Log returns what Kratos has printed so far, for failure messages.
func (p *Project) Log() string { return p.log.String() }

// Close stops Kratos, the courier sink and the proxy, and removes the config dir. It is safe to
// call more than once.
func (p *Project) Close() {
	p.once.Do(func() {
		p.stop()
		for _, s := range p.servers {
			s.Close()
		}
		if p.dir != "" {
			os.RemoveAll(p.dir)
		}
	})
}

func (p *Project) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return // already stopped
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// writeConfig writes the identity schema, courier body and Kratos config into p.dir and
// returns the config's path. The config is JSON, which Kratos reads as YAML.
func (p *Project) writeConfig(kind Kind, c config, publicPort, adminPort int) (string, error) {
	schemaPath := filepath.Join(p.dir, "identity.schema.json")
	if err := os.WriteFile(schemaPath, []byte(identitySchema(kind)), 0o600); err != nil {
		return "", fmt.Errorf("kratostest: %w", err)
	}

	dsn := "memory"
	if c.persistent {
		dsn = "sqlite://" + filepath.Join(p.dir, "kratos.sqlite") + "?_fk=true&mode=rwc"
	}
	requiredAAL := "highest_available"
	if c.lax {
		requiredAAL = "aal1"
	}
	methods := map[string]any{
		"password": map[string]any{
			"enabled": true,
			"config":  map[string]any{"haveibeenpwned_enabled": false},
		},
	}
	switch kind {
	case CodeMFA:
		methods["code"] = map[string]any{"enabled": true, "mfa_enabled": true}
	case TOTP:
		methods["totp"] = map[string]any{"enabled": true, "config": map[string]any{"issuer": "orymfa-test"}}
		methods["lookup_secret"] = map[string]any{"enabled": true}
	}

	templates, err := p.tokens.templates()
	if err != nil {
		return "", err
	}
	cfg := map[string]any{
		"version": "v1.3.1",
		"dsn":     dsn,
		"log":     map[string]any{"level": "info", "format": "text"},
		"serve": map[string]any{
			"public": map[string]any{"base_url": p.PublicURL + "/", "host": "127.0.0.1", "port": publicPort},
			"admin":  map[string]any{"base_url": p.AdminURL + "/", "host": "127.0.0.1", "port": adminPort},
		},
		"secrets": map[string]any{
			"cookie":  []string{"orymfa-kratostest-cookie-secret-0001"},
			"cipher":  []string{"orymfa-kratostest-cipher-32bytes"},
			"default": []string{"orymfa-kratostest-default-secret-01"},
		},
		"identity": map[string]any{
			"default_schema_id": "default",
			"schemas":           []map[string]any{{"id": "default", "url": "file://" + schemaPath}},
		},
		"selfservice": map[string]any{
			"default_browser_return_url": "http://127.0.0.1/",
			"allowed_return_urls":        append([]string{"http://127.0.0.1/", "http://localhost/"}, c.returnURLs...),
			"methods":                    methods,
			"flows": map[string]any{
				"registration": map[string]any{
					"enabled": true,
					// One request with traits and password, as API clients send it.
					"enable_legacy_one_step": true,
					"after": map[string]any{
						"password": map[string]any{"hooks": []map[string]any{{"hook": "session"}}},
					},
				},
				"settings": map[string]any{
					"required_aal":               requiredAAL,
					"privileged_session_max_age": "1h",
				},
				// No verification: login must not wait for a verified address.
				"verification": map[string]any{"enabled": false},
			},
		},
		"session": map[string]any{
			"lifespan": "1h",
			"whoami": map[string]any{
				"required_aal": requiredAAL,
				"tokenizer":    map[string]any{"templates": templates},
			},
		},
		"courier": map[string]any{
			// Kratos's courier sleeps pull_wait (default 1s) between looks at its queue: every
			// one-time code would wait up to a second for it.
			"worker":            map[string]any{"pull_wait": "100ms"},
			"delivery_strategy": "http",
			"http": map[string]any{"request_config": map[string]any{
				"url":    p.courierURL,
				"method": "POST",
				"body":   "base64://" + base64.StdEncoding.EncodeToString([]byte(courierBody)),
			}},
		},
		// The cheapest hash Kratos accepts: tests create many users.
		"hashers": map[string]any{"algorithm": "bcrypt", "bcrypt": map[string]any{"cost": 4}},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", fmt.Errorf("kratostest: %w", err)
	}
	path := filepath.Join(p.dir, "kratos.yml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", fmt.Errorf("kratostest: %w", err)
	}
	return path, nil
}

// courierBody is the jsonnet that shapes each HTTP courier request: the recipient, the template
// type and the template data, which carries the code (login_code, verification_code, …).
const courierBody = `function(ctx) {
  recipient: ctx.recipient,
  template_type: ctx.template_type,
  template_data: if "template_data" in ctx then ctx.template_data else null,
}
`

// identitySchema marks the email as the password identifier and, on CodeMFA, as a code
// identifier too: without "code" the aal2 login offers no method at all.
func identitySchema(kind Kind) string {
	credentials := `"password": {"identifier": true}`
	if kind == CodeMFA {
		credentials += `, "code": {"identifier": true, "via": "email"}`
	}
	return `{
  "$id": "https://orymfa.test/identity.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Person",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string",
          "format": "email",
          "minLength": 3,
          "ory.sh/kratos": {"credentials": {` + credentials + `}}
        }
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}
`
}

// ownTransport is a transport of the test bed's own. Not http.DefaultTransport: every
// httptest.Server that a test closes also closes that one's idle connections, which can break
// a request of a test running in parallel that is just taking one.
func ownTransport() *http.Transport { return http.DefaultTransport.(*http.Transport).Clone() }

// pickPort is freePort; a test replaces it to force a port clash.
var pickPort = freePort

// freePort asks the kernel for a free loopback port and releases it for Kratos to bind.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("kratostest: pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// kratosBinary returns $ORYMFA_KRATOS_BIN, or else the path scripts/build-kratos.sh prints
// (building Kratos the first time, cached afterwards).
func kratosBinary(ctx context.Context) (string, error) {
	if bin := os.Getenv("ORYMFA_KRATOS_BIN"); bin != "" {
		return bin, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("kratostest: cannot locate the package dir; set ORYMFA_KRATOS_BIN")
	}
	dir := filepath.Dir(file)
	for {
		script := filepath.Join(dir, "scripts", "build-kratos.sh")
		if _, err := os.Stat(script); err == nil {
			var stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, "bash", script)
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				return "", fmt.Errorf("kratostest: %s: %w\n%s", script, err, stderr.String())
			}
			return strings.TrimSpace(string(out)), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("kratostest: scripts/build-kratos.sh not found above the package; set ORYMFA_KRATOS_BIN")
		}
		dir = parent
	}
}

// syncBuffer collects the Kratos log; the process writes it while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	if b == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
