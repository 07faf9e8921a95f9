package orymfatest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Server is a fake Ory (Kratos public API) on loopback. It answers GET /sessions/whoami as
// Ory Kratos v1.3.1 does and serves the browser self-service pages the middleware redirects
// to. Create it with [NewServer].
//
// Its methods are safe for concurrent use with the requests it serves. The methods that fail
// the test on misuse (an unknown token, a foreign identity) call tb.Fatalf, so call them from
// the goroutine running the test, as the testing package requires.
type Server struct {
	// URL is the base URL of the fake Ory, e.g. http://127.0.0.1:41234, without a trailing
	// slash: use it as ORY_SDK_URL or core.Config.SDKURL.
	URL string

	tb      testing.TB
	srv     *httptest.Server
	closing chan struct{} // closed at cleanup, so slow answers stop waiting

	mu         sync.Mutex
	lax        bool
	cookieName string
	identities map[string]*identityRecord // by identity id
	sessions   map[string]*sessionRecord  // by session token
	cookies    map[string]string          // cookie value -> session token
	respond    http.HandlerFunc           // replaces the whoami answer when set (Respond, SetFault)
	calls      []http.Header              // each whoami request's headers, oldest first
	flows      []Flow
	emailSeq   int
	tokens     *tokenizer // made on first use (tokenize.go)
}

// DefaultCookieName is the cookie a self-hosted Kratos keeps the browser session in, and the
// one [Server] reads unless [Server.SetCookieName] says otherwise.
const DefaultCookieName = "ory_kratos_session"

// NewServer starts a fake Ory on a free loopback port and closes it with tb.Cleanup. It
// starts as Ory's default (Strict) project: whoami answers 403 session_aal2_required for an
// aal1 session of an identity that has a second factor.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		tb:         tb,
		closing:    make(chan struct{}),
		cookieName: DefaultCookieName,
		identities: map[string]*identityRecord{},
		sessions:   map[string]*sessionRecord{},
		cookies:    map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/sessions/whoami", s.serveWhoami)
	mux.HandleFunc("GET /self-service/login/browser", s.serveFlow)
	mux.HandleFunc("GET /self-service/settings/browser", s.serveFlow)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	tb.Cleanup(func() {
		// Release answers held back by a Slow fault first: httptest.Server.Close waits for
		// every request in flight.
		close(s.closing)
		s.srv.Close()
	})
	return s
}

// SetLax switches the project between Strict (false, Ory's default: session.whoami.required_aal
// highest_available) and Lax (true: required_aal aal1). On a Lax project whoami answers 200
// for every valid session, aal1 included, even when the identity has a second factor; the
// middleware must then enforce aal2 itself.
func (s *Server) SetLax(lax bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lax = lax
}

// SetCookieName changes the name of the session cookie whoami reads (default
// [DefaultCookieName]), e.g. to "ory_session_<slug>" to test as Ory Network names it.
func (s *Server) SetCookieName(name string) {
	s.tb.Helper()
	if name == "" {
		s.tb.Fatalf("orymfatest: SetCookieName: empty cookie name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cookieName = name
}

// Calls returns how many whoami requests the server received since it started or since the
// last [Server.ResetCalls], whatever it answered (faults included), so a test can assert
// that the middleware's cache spared Ory a call.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// CallHeaders returns a copy of the headers of each whoami request received, oldest first,
// so a test can check what the middleware sent to Ory (X-Session-Token, Cookie, User-Agent).
func (s *Server) CallHeaders() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]http.Header, len(s.calls))
	for i, h := range s.calls {
		out[i] = h.Clone()
	}
	return out
}

// LastCookie returns the Cookie header of the latest whoami request ("" when it had none or
// there was none). The middleware must forward only the Ory session cookie, never the app's
// other cookies: this is where a test sees it.
func (s *Server) LastCookie() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) == 0 {
		return ""
	}
	return s.calls[len(s.calls)-1].Get("Cookie")
}

// ResetCalls forgets the whoami requests received so far: [Server.Calls] starts again from
// zero. Call it after warming a cache to count only what follows.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}
