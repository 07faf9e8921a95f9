package rpcconformance

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// env is one scenario's world: an Ory (Kratos or the kit), a fresh verifier that asks it
// through a transport counting whoami calls, the transport's client of the served app, and a
// settable clock.
type env struct {
	t         *testing.T
	transport Transport
	ory       oryBackend
	other     oryBackend
	client    Client
	ran       atomic.Int64
	whoami    *countingTransport
	otherWh   *countingTransport
	clockMu   sync.Mutex
	frozen    time.Time
}

func newEnv(t *testing.T, tr Transport, o, other oryBackend, cfg core.Config) *env {
	t.Helper()
	e := &env{t: t, transport: tr, ory: o, other: other}
	var v, otherV *core.Verifier
	v, e.whoami = e.verifier(o.url(), cfg)
	otherV, e.otherWh = e.verifier(other.url(), core.Config{})
	e.client = tr.Serve(t, NewApp(v, otherV, &e.ran))
	return e
}

// verifier builds a verifier for the Ory at sdkURL with cfg, through a counting transport
// inside the user's own client.
func (e *env) verifier(sdkURL string, cfg core.Config) (*core.Verifier, *countingTransport) {
	ct := &countingTransport{base: http.DefaultTransport}
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
	panics  atomic.Bool
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

// unary calls a unary method of the served app.
func (e *env) unary(method string, c Call) Result {
	e.t.Helper()
	return e.client.Unary(ctx(e.t), method, c)
}

// stream calls Watch.
func (e *env) stream(c Call) Result {
	e.t.Helper()
	return e.client.Stream(ctx(e.t), c)
}
