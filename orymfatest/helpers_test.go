package orymfatest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// whoami sends one raw request to a whoami endpoint (the kit's or a real Kratos's) with the
// given headers and returns status, headers and body.
func whoami(t *testing.T, baseURL string, hdr http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, baseURL+"/sessions/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("whoami: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("whoami: read body: %v", err)
	}
	return res.StatusCode, res.Header, b
}

func tokenHeader(token string) http.Header {
	h := http.Header{}
	h.Set("X-Session-Token", token)
	return h
}

// body is the part of a whoami answer the tests read.
type body struct {
	ID              string `json:"id"`
	AAL             string `json:"authenticator_assurance_level"`
	AuthenticatedAt string `json:"authenticated_at"`
	Methods         []struct {
		Method      string `json:"method"`
		AAL         string `json:"aal"`
		CompletedAt string `json:"completed_at"`
	} `json:"authentication_methods"`
	Identity struct {
		ID     string         `json:"id"`
		Traits map[string]any `json:"traits"`
	} `json:"identity"`
	Error struct {
		ID   string `json:"id"`
		Code int    `json:"code"`
	} `json:"error"`
	RedirectBrowserTo string `json:"redirect_browser_to"`
}

func decode(t *testing.T, b []byte) body {
	t.Helper()
	var v body
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// keys returns the sorted keys of a JSON object.
func keys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("keys of %s: %v", raw, err)
	}
	return slices.Sorted(maps.Keys(m))
}

// verifier returns a verifier for the kit that logs nowhere (the fault tests would be noisy).
func verifier(t *testing.T, srv *orymfatest.Server, mutate ...func(*core.Config)) *core.Verifier {
	t.Helper()
	cfg := core.Config{SDKURL: srv.URL, Logger: slog.New(slog.DiscardHandler)}
	for _, m := range mutate {
		m(&cfg)
	}
	v, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func noCache(c *core.Config) { c.Cache = core.CacheConfig{Disabled: true} }

// probe is a handler that records the session the middleware handed it.
type probe struct {
	mu      sync.Mutex
	calls   int
	session *ory.Session
	ok      bool
	lookup  func(context.Context) (*ory.Session, bool)
}

func (p *probe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, ok := p.lookup(r.Context())
	p.mu.Lock()
	p.calls++
	p.session, p.ok = s, ok
	p.mu.Unlock()
	if ok {
		fmt.Fprintf(w, "hello %s (%s)", s.Identity.Id, s.GetAuthenticatorAssuranceLevel())
	}
}

func (p *probe) ran() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// serve runs one request through h and returns the recorder.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// apiRequest is an API client's request with a session token.
func apiRequest(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://app.test/account", nil)
	if token != "" {
		r.Header.Set("X-Session-Token", token)
	}
	return r
}

// browserRequest is a browser navigation carrying the session cookie.
func browserRequest(c *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://app.test/account?tab=keys", nil)
	r.Header.Set("Accept", "text/html,application/xhtml+xml")
	if c != nil {
		r.AddCookie(c)
	}
	return r
}

// fatalRecorder stands in for *testing.T to observe the kit failing a test: Fatalf records
// instead of ending the goroutine, and everything else goes to the real test.
type fatalRecorder struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

func (f *fatalRecorder) failures() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.msgs)
}
