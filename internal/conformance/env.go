package conformance

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/kratostest"
)

// env is one scenario's world: a fresh verifier (empty cache) talking to a real Kratos through
// a transport that counts whoami calls, the adapter's app serving it, and a settable clock.
type env struct {
	t       *testing.T
	kratos  *kratostest.Project
	base    string // the app's base URL
	sdkURL  string // where the verifier asks Ory, and where denials point
	ran     atomic.Int64
	whoami  *countingTransport
	clockMu sync.Mutex
	frozen  time.Time // zero: real time
}

const maxAge = 5 * time.Minute

func newEnv(t *testing.T, a Adapter, kind kratostest.Kind, sdkURL string, cfg core.Config) *env {
	t.Helper()
	e := &env{t: t, kratos: Project(t, kind), whoami: &countingTransport{base: http.DefaultTransport}}
	if sdkURL == "" {
		sdkURL = e.kratos.PublicURL
	}
	oc := ory.NewConfiguration()
	oc.Servers = ory.ServerConfigurations{{URL: sdkURL}}
	oc.HTTPClient = &http.Client{Transport: e.whoami}
	cfg.SDKURL = sdkURL
	e.sdkURL = sdkURL
	cfg.APIClient = ory.NewAPIClient(oc)
	cfg.Now = e.now
	if cfg.OnError == nil {
		cfg.OnError = func(_ context.Context, err error) { t.Logf("verifier: %v", err) }
	}
	v, err := core.New(cfg)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	e.base = a.Serve(t, newApp(v, maxAge, &e.ran))
	return e
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
	calls   atomic.Int64
	mu      sync.Mutex
	cookies []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
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
	path    string
	browser bool     // Accept: text/html, as a browser navigation
	token   string   // X-Session-Token
	bearer  string   // Authorization: Bearer
	cookie  string   // raw Cookie header
	cookies []string // several Cookie headers
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

var client = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

func (e *env) do(r request) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.base+r.path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if r.browser {
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
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
		e.t.Fatalf("GET %s: %v", r.path, err)
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header}
	out.body, _ = io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(out.body, &out.oryErr)
		_ = json.Unmarshal(out.body, &out.handler)
	}
	return out
}

// cookieHeader turns a browser's Kratos session cookie into a Cookie header for the app.
func cookieHeader(t *testing.T, b *kratostest.Browser) string {
	t.Helper()
	c := b.SessionCookie()
	if c == nil {
		t.Fatal("the browser has no Kratos session cookie")
	}
	return c.Name + "=" + c.Value
}

// loginURL is the Ory URL the middleware should send a denied request to.
func (e *env) loginURL(flow, query, path string) string {
	u := e.sdkURL + "/self-service/" + flow + "/browser?"
	if query != "" {
		u += query + "&"
	}
	return u + "return_to=" + url.QueryEscape(e.base+path)
}
