package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// options says what to run where; the test sets free ports.
type options struct {
	framework    string
	addr         string // app and UI, e.g. 127.0.0.1:4455
	kratosPublic string
	kratosAdmin  string
	kratosBin    string
	appBin       string
	// allowOrigins are more app origins (scheme://host[:port]) Kratos accepts in return_to,
	// for a reader's own app that uses the demo's Kratos.
	allowOrigins []string
	log          io.Writer
}

// originList is the -allow-origin flag: repeatable, and each value may list origins
// separated by commas.
type originList []string

func (l *originList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *originList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		o, err := parseOrigin(s)
		if err != nil {
			return err
		}
		if !contains(*l, o) {
			*l = append(*l, o)
		}
	}
	return nil
}

// parseOrigin checks that s is an http(s) origin, e.g. http://127.0.0.1:8080, and returns it
// without a trailing slash.
func parseOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q is not an origin: want scheme://host[:port], e.g. http://127.0.0.1:8080", s)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

var frameworks = []string{"nethttp", "chi", "gin", "echo", "echov5", "fiber", "fiberv3"}

// demo is a running demo: Kratos, the example app and the UI server.
type demo struct {
	appURL    string // http://127.0.0.1:4455
	publicURL string // Kratos public API
	adminURL  string
	mail      *mailbox
	// courierURL is where Kratos sends its emails: a loopback port and the mailbox's secret.
	courierURL string
	// failed receives an error when Kratos or the app exits on its own.
	failed chan error

	dir       string
	kratos    *process
	app       *process
	server    *http.Server
	courier   *http.Server // the mailbox's loopback endpoint for Kratos's emails
	closeOnce sync.Once
}

// start checks the ports, starts Kratos and the app, and serves the UI. It returns once all
// of them answer; ctx bounds only the startup.
func start(ctx context.Context, o options) (_ *demo, err error) {
	if !contains(frameworks, o.framework) {
		return nil, fmt.Errorf("unknown framework %q: pick one of %s", o.framework, strings.Join(frameworks, ", "))
	}
	var origins originList
	for _, s := range o.allowOrigins {
		if err := origins.Set(s); err != nil {
			return nil, fmt.Errorf("-allow-origin: %w", err)
		}
	}
	if err := sameHost(o.addr, o.kratosPublic); err != nil {
		return nil, err
	}
	// Hold the UI's port from the check on; Kratos's ports are checked and released for it.
	ln, err := listen(o.addr, "the app and login UI")
	if err != nil {
		return nil, err
	}
	for _, p := range []struct{ addr, what string }{{o.kratosPublic, "Kratos's public API"}, {o.kratosAdmin, "Kratos's admin API"}} {
		l, err := listen(p.addr, p.what)
		if err != nil {
			ln.Close()
			return nil, err
		}
		l.Close()
	}

	d := &demo{
		appURL:    "http://" + o.addr,
		publicURL: "http://" + o.kratosPublic,
		adminURL:  "http://" + o.kratosAdmin,
		failed:    make(chan error, 4), // the UI server, the mailbox, Kratos, the app
	}
	d.mail = newMailbox(o.log)
	defer func() {
		if err != nil {
			ln.Close()
			d.Close()
		}
	}()
	if d.dir, err = os.MkdirTemp("", "orymfa-demo-"); err != nil {
		return nil, err
	}

	examples, err := examplesDir()
	if err != nil {
		return nil, err
	}
	kratosBin, err := kratosBinary(ctx, o, examples)
	if err != nil {
		return nil, err
	}
	appBin := o.appBin
	if appBin == "" {
		appBin = filepath.Join(d.dir, o.framework)
		fmt.Fprintf(o.log, "building the %s example…\n", o.framework)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", appBin, "./"+o.framework)
		cmd.Dir = examples
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building the %s example: %w\n%s", o.framework, err, out)
		}
	}

	// Receive mail before Kratos starts: Kratos sends mail to it. The endpoint listens on
	// loopback, whatever -addr says, as Kratos runs on this machine.
	courierLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("the dev mailbox: %w", err)
	}
	d.courierURL = "http://" + courierLn.Addr().String() + d.mail.path
	d.courier = &http.Server{Handler: d.mail, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := d.courier.Serve(courierLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.failed <- fmt.Errorf("dev mailbox: %w", err)
		}
	}()
	ui, err := newUI(d.publicURL, d.appURL, origins, d.mail)
	if err != nil {
		return nil, err
	}
	appPort, err := freePort()
	if err != nil {
		return nil, err
	}
	appInternal := &url.URL{Scheme: "http", Host: "127.0.0.1:" + appPort}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(appInternal)
			r.Out.Host = r.In.Host // the app builds return_to from the Host the browser used
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "the example app is not answering: "+err.Error(), http.StatusBadGateway)
		},
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", ui)
	mux.Handle("/", proxy)
	d.server = &http.Server{Handler: onOrigin(d.appURL, mux), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := d.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.failed <- fmt.Errorf("UI server: %w", err)
		}
	}()

	cfgPath, err := writeKratosConfig(d.dir, kratosConfig{
		publicAddr: o.kratosPublic,
		adminAddr:  o.kratosAdmin,
		appURL:     d.appURL,
		origins:    origins,
		courierURL: d.courierURL,
	})
	if err != nil {
		return nil, err
	}
	kratosLog := filepath.Join(d.dir, "kratos.log")
	d.kratos, err = startProcess("Kratos", kratosBin, []string{"serve", "--dev", "--watch-courier", "--config", cfgPath}, nil, d.dir, kratosLog, nil)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, d.adminURL+"/admin/health/ready", d.kratos); err != nil {
		return nil, fmt.Errorf("%w\n--- Kratos log (%s) ---\n%s", err, kratosLog, tail(kratosLog, 40))
	}

	// ORYMFA_DEMO makes the app link the demo's login UI and mailbox in its header.
	env := []string{"ORY_SDK_URL=" + d.publicURL, "ADDR=" + appInternal.Host, "ORYMFA_DEMO=1"}
	appOut := &tailWriter{max: 4 << 10}
	d.app, err = startProcess("the "+o.framework+" example", appBin, nil, env, examples, "", io.MultiWriter(prefixWriter(o.log, "["+o.framework+"] "), appOut))
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, appInternal.String()+"/", d.app); err != nil {
		return nil, fmt.Errorf("%w\n--- its output ---\n%s", err, appOut)
	}
	go d.watch(d.kratos, kratosLog)
	go d.watch(d.app, "")

	fmt.Fprint(o.log, startupText(o.framework, d, kratosLog, origins))
	return d, nil
}

// startupText tells a person where everything runs, the path to click through (the same as
// the README's) and how to point their own app at the demo's Kratos.
func startupText(framework string, d *demo, kratosLog string, origins []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
orymfa demo: the %[1]s example is running

  app and login UI  %[2]s/
  dev mailbox       %[2]s/ui/mailbox
  Ory Kratos        %[3]s (public), %[4]s (admin)
  Kratos's log      %[5]s

Try it: open %[2]s/transfer and sign up ("No account yet? Sign up").
/transfer needs a second factor, so you are sent to the second factor step: send the
one-time code, copy the sign-in code from the dev mailbox (or from this terminal), enter
it, and you are back on /transfer. Add an authenticator app (TOTP) under
%[2]s/ui/settings.

`, framework, d.appURL, d.publicURL, d.adminURL, kratosLog)
	kratosHost := hostOf(d.publicURL)
	if len(origins) == 0 {
		fmt.Fprintf(&b, `Your own app can use this Kratos and login UI too: run the app with
ORY_SDK_URL=%[1]s, and start the demo with
-allow-origin http://%[2]s:8080 (the app's origin) so that Kratos sends browsers
back to the app after sign-in.
`, d.publicURL, kratosHost)
	} else {
		fmt.Fprintf(&b, `Your own app can use this Kratos and login UI too: run the app with
ORY_SDK_URL=%[1]s at %[2]s
(-allow-origin: Kratos sends browsers back there after sign-in).
`, d.publicURL, strings.Join(origins, " or "))
		for _, o := range origins {
			if u, err := url.Parse(o); err == nil && u.Hostname() != kratosHost {
				alt := *u
				alt.Host = net.JoinHostPort(kratosHost, u.Port())
				if u.Port() == "" {
					alt.Host = kratosHost
				}
				fmt.Fprintf(&b, "Note: Kratos sets its session cookie for host %s, which an app at %s\ndoes not receive: use %s.\n", kratosHost, o, alt.String())
			}
		}
	}
	b.WriteString("Ctrl-C stops everything.\n\n")
	return b.String()
}

// sameHost refuses an -addr whose host name is not Kratos's (-kratos-public). Kratos sets its
// session cookie for the host name of its public URL, whatever the port, and a browser sends
// it to no other name (not even localhost for 127.0.0.1): the app and the login UI under
// another name would never see the session and send the browser to sign in again and again.
func sameHost(addr, kratosPublic string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: want host:port, e.g. 127.0.0.1:4455", addr)
	}
	kratosHost, _, err := net.SplitHostPort(kratosPublic)
	if err != nil {
		return fmt.Errorf("-kratos-public %q: want host:port, e.g. 127.0.0.1:4433", kratosPublic)
	}
	if !strings.EqualFold(host, kratosHost) {
		return fmt.Errorf("-addr %s is not on Kratos's host name (-kratos-public %s): Kratos sets its session cookie for %q, which a browser never sends to %q, so every sign-in would end in a redirect loop; use -addr %s",
			addr, kratosPublic, kratosHost, host, net.JoinHostPort(kratosHost, port))
	}
	return nil
}

// onOrigin sends a request that reached the demo under another host name (e.g.
// http://localhost:4455 for 127.0.0.1:4455) to the same path on the demo's origin, appURL,
// before the app builds a return_to from it: Kratos accepts return_to and sets its session
// cookie for that origin only, so under another name a person would get an error page, or a
// redirect loop once that origin is allowed.
func onOrigin(appURL string, h http.Handler) http.Handler {
	origin, err := url.Parse(appURL)
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Host, origin.Host) {
			http.Redirect(w, r, appURL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// hostOf returns the host name (without port) of a URL.
func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// watch reports a process that exits while the demo runs.
func (d *demo) watch(p *process, logPath string) {
	<-p.exited
	if p.stopping.Load() {
		return
	}
	err := fmt.Errorf("%s exited: %v", p.name, p.cmd.ProcessState)
	if logPath != "" {
		err = fmt.Errorf("%w\n--- log (%s) ---\n%s", err, logPath, tail(logPath, 40))
	}
	d.failed <- err
}

// Close stops the app, Kratos and the UI server and removes the temp dir.
func (d *demo) Close() {
	d.closeOnce.Do(func() {
		for _, srv := range []*http.Server{d.server, d.courier} {
			if srv != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = srv.Shutdown(ctx)
				cancel()
			}
		}
		d.app.stop()
		d.kratos.stop()
		if d.dir != "" {
			os.RemoveAll(d.dir)
		}
	})
}

// listen binds addr or explains plainly that the port is taken.
func listen(addr, what string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscallEADDRINUSE) {
			return nil, fmt.Errorf("port %s (for %s) is already in use: is another demo running? Stop it, or choose other ports with -addr, -kratos-public and -kratos-admin", addr, what)
		}
		return nil, fmt.Errorf("cannot listen on %s (for %s): %w", addr, what, err)
	}
	return ln, nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// waitReady polls url until it answers below 500, p exits or ctx ends (at most a minute).
func waitReady(ctx context.Context, url string, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client := &http.Client{
		Timeout:       2 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode < 500 {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before it was ready: %v", p.name, p.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to answer at %s: %w", p.name, url, ctx.Err())
		case <-tick.C:
		}
	}
}

// examplesDir finds the examples module: the working directory or one above it.
func examplesDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/orymfa/orymfa/examples\n")) {
			return dir, nil
		}
		if sub := filepath.Join(dir, "examples"); dir != sub {
			if b, err := os.ReadFile(filepath.Join(sub, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/orymfa/orymfa/examples\n")) {
				return sub, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the examples module (github.com/orymfa/orymfa/examples): run the demo from the orymfa repository, e.g. with scripts/demo.sh")
		}
		dir = parent
	}
}

// kratosBinary returns -kratos, $ORYMFA_KRATOS_BIN, or what scripts/build-kratos.sh prints.
func kratosBinary(ctx context.Context, o options, examples string) (string, error) {
	if o.kratosBin != "" {
		return o.kratosBin, nil
	}
	if bin := os.Getenv("ORYMFA_KRATOS_BIN"); bin != "" {
		return bin, nil
	}
	script := filepath.Join(filepath.Dir(examples), "scripts", "build-kratos.sh")
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Stderr = o.log
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building Ory Kratos with %s failed (%w): it needs Go, gcc (cgo, for sqlite) and the Go module proxy; see its output above", script, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// prefixWriter writes each line to w with prefix.
func prefixWriter(w io.Writer, prefix string) io.Writer {
	pr, pw := io.Pipe()
	go func() {
		s := bufio.NewScanner(pr)
		for s.Scan() {
			fmt.Fprintln(w, prefix+s.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return pw
}

// tailWriter keeps the last max bytes written to it, for error messages.
type tailWriter struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if len(w.b) > w.max {
		w.b = w.b[len(w.b)-w.max:]
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimRight(string(w.b), "\n")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
