package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// env is one scenario's world: an Ory (Kratos or the kit), a fresh verifier (empty cache)
// that asks it through a transport counting whoami calls, the adapter's app serving it, and
// a settable clock.
type env struct {
	t       *testing.T
	adapter Adapter // the framework under test, for rows that serve a second app
	errMu   sync.Mutex
	errs    []appError // what the app's central error handler got (App.OnError)
	ory     oryBackend
	other   oryBackend // another project, for /two/aal2
	base    string     // the app's base URL
	ran     atomic.Int64
	whoami  *countingTransport
	otherWh *countingTransport
	clockMu sync.Mutex
	frozen  time.Time // zero: real time
	json    bool      // the adapter writes the core's JSON bytes unchanged
}

const maxAge = 5 * time.Minute

func newEnv(t *testing.T, a Adapter, o, other oryBackend, cfg core.Config) *env {
	t.Helper()
	e := &env{t: t, adapter: a, ory: o, other: other, json: !a.ReencodesJSON}
	var v *core.Verifier
	v, e.whoami = e.verifier(o.url(), cfg)
	otherV, otherWh := e.verifier(other.url(), core.Config{})
	e.otherWh = otherWh
	app := newApp(v, otherV, maxAge, &e.ran)
	app.OnError = e.onError
	e.base = a.Serve(t, app)
	return e
}

// appError is what the app's central error handler was given for one request.
type appError struct {
	err    error
	status int
	d      *core.Decision
}

// onError records what the central error handler gets and answers with a page linking to
// where Ory's flow is, or, for an error without a decision, 451 "handled".
func (e *env) onError(err error, status int, d *core.Decision) (int, []byte) {
	e.errMu.Lock()
	e.errs = append(e.errs, appError{err, status, d})
	e.errMu.Unlock()
	if d == nil {
		return http.StatusUnavailableForLegalReasons, []byte("handled")
	}
	return status, []byte(`<a href="` + d.RedirectTo + `">continue</a>`)
}

// appErrors returns and forgets what the central error handler got since the last call.
func (e *env) appErrors() []appError {
	e.errMu.Lock()
	defer e.errMu.Unlock()
	errs := e.errs
	e.errs = nil
	return errs
}

// verifier builds a verifier for the Ory at sdkURL with cfg, through a counting transport
// inside the user's own client (the core keeps a user's transport underneath its rules).
func (e *env) verifier(sdkURL string, cfg core.Config) (*core.Verifier, *countingTransport) {
	ct := &countingTransport{base: transport}
	oc := ory.NewConfiguration()
	oc.Servers = ory.ServerConfigurations{{URL: sdkURL}}
	oc.HTTPClient = &http.Client{Transport: ct}
	cfg.SDKURL = sdkURL
	cfg.APIClient = ory.NewAPIClient(oc)
	cfg.Now = e.now
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.OnError == nil {
		cfg.OnError = func(_ context.Context, err error) { e.t.Logf("verifier: %v", err) }
	}
	v, err := core.New(cfg)
	if err != nil {
		e.t.Fatalf("core.New: %v", err)
	}
	return v, ct
}

func (e *env) now() time.Time {
	e.clockMu.Lock()
	defer e.clockMu.Unlock()
	if e.frozen.IsZero() {
		return time.Now()
	}
	return e.frozen
}

func (e *env) freezeClock(at time.Time) {
	e.clockMu.Lock()
	defer e.clockMu.Unlock()
	e.frozen = at
}

// countingTransport counts whoami calls and remembers the Cookie header each carried.
type countingTransport struct {
	base    http.RoundTripper
	panics  atomic.Bool // panic in RoundTrip, as a user's buggy instrumentation would
	calls   atomic.Int64
	mu      sync.Mutex
	cookies []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.panics.Load() {
		panic("instrumentation bug")
	}
	if strings.HasSuffix(r.URL.Path, "/sessions/whoami") {
		c.calls.Add(1)
		c.mu.Lock()
		c.cookies = append(c.cookies, r.Header.Get("Cookie"))
		c.mu.Unlock()
	}
	return c.base.RoundTrip(r)
}

func (c *countingTransport) lastCookie() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cookies) == 0 {
		return ""
	}
	return c.cookies[len(c.cookies)-1]
}

// request describes one request to the app.
type request struct {
	method  string // GET when empty
	path    string
	browser bool     // Accept: text/html, as a browser navigation
	accept  string   // another Accept header
	token   string   // X-Session-Token
	bearer  string   // Authorization: Bearer
	cookie  string   // raw Cookie header
	cookies []string // several Cookie headers
	header  http.Header
}

// response is what the app answered.
type response struct {
	status   int
	location string
	header   http.Header
	body     []byte
	oryErr   struct {
		Error struct {
			ID      string         `json:"id"`
			Code    int            `json:"code"`
			Details map[string]any `json:"details"`
		} `json:"error"`
		RedirectBrowserTo string `json:"redirect_browser_to"`
	}
	handler handlerReply
}

// transport carries every request the table makes (to the apps, and the verifiers' calls to
// Ory), apart from http.DefaultTransport: adapters run in parallel, and every httptest.Server
// that a finished test closes also closes http.DefaultTransport's idle connections, which can
// break another test's request that is just taking one ("connection broken: http:
// CloseIdleConnections called").
var transport = http.DefaultTransport.(*http.Transport).Clone()

var client = &http.Client{
	Transport:     transport,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

func (e *env) do(r request) response {
	e.t.Helper()
	out, err := e.get(r)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// get is do for other goroutines than the test's: it returns the error instead of failing.
func (e *env) get(r request) (response, error) {
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, e.base+r.path, nil)
	if err != nil {
		return response{}, err
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	if r.browser {
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	}
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	if r.token != "" {
		req.Header.Set("X-Session-Token", r.token)
	}
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	if r.cookie != "" {
		req.Header.Set("Cookie", r.cookie)
	}
	if r.cookies != nil {
		req.Header["Cookie"] = r.cookies
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, r.path, err)
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header}
	out.body, _ = io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(out.body, &out.oryErr)
		_ = json.Unmarshal(out.body, &out.handler)
	}
	return out, nil
}

// loginURL is the Ory URL the middleware should send a denied request to.
func (e *env) loginURL(flow, query, path string) string {
	return flowURL(e.ory.url(), flow, query, e.base+path)
}

func flowURL(oryURL, flow, query, returnTo string) string {
	u := oryURL + "/self-service/" + flow + "/browser?"
	if query != "" {
		u += query + "&"
	}
	return u + "return_to=" + url.QueryEscape(returnTo)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
