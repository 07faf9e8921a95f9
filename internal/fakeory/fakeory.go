package fakeory

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Token and Cookie values the fake knows. Any other credential gets 401.
const (
	TokenAAL1     = "token-aal1"   // active aal1 session
	TokenAAL2     = "token-aal2"   // active aal2 session, second factor proven now
	TokenStepUp   = "token-stepup" // whoami answers 403 session_aal2_required
	CookieName    = "ory_kratos_session"
	CookieAAL2    = "cookie-aal2"   // cookie value of an aal2 session
	CookieAAL1    = "cookie-aal1"   // cookie value of an aal1 session
	CookieStepUp  = "cookie-stepup" // 403 session_aal2_required
	IdentityID    = "9f425a8d-7efc-4768-8f23-7647a74fdf13"
	SessionIDAAL2 = "b8f0c6a2-3c1e-4f27-9d0a-1f0f3f3c7e01"
)

// Server is a fake whoami endpoint. Its zero behaviour answers like Kratos for the known
// credentials; Respond overrides every answer.
type Server struct {
	*httptest.Server
	calls   atomic.Int64
	mu      sync.Mutex
	respond http.HandlerFunc
	cookies []string
}

// New starts a fake on loopback; it is closed with t.Cleanup by the caller (srv.Close).
func New() *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Calls is the number of whoami requests received.
func (s *Server) Calls() int64 { return s.calls.Load() }

// Cookies returns the Cookie headers received, in order.
func (s *Server) Cookies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cookies...)
}

// Respond replaces the answer to every request (nil restores the default).
func (s *Server) Respond(h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = h
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/sessions/whoami" {
		http.NotFound(w, r)
		return
	}
	s.calls.Add(1)
	s.mu.Lock()
	s.cookies = append(s.cookies, r.Header.Get("Cookie"))
	respond := s.respond
	s.mu.Unlock()
	if respond != nil {
		respond(w, r)
		return
	}
	cred := r.Header.Get("X-Session-Token")
	if c, err := r.Cookie(CookieName); err == nil {
		cred = c.Value
	}
	switch cred {
	case TokenAAL1, CookieAAL1:
		WriteSession(w, Session("aal1", time.Now()))
	case TokenAAL2, CookieAAL2:
		WriteSession(w, Session("aal2", time.Now()))
	case TokenStepUp, CookieStepUp:
		WriteError(w, http.StatusForbidden, "session_aal2_required")
	default:
		WriteError(w, http.StatusUnauthorized, "")
	}
}

// Session returns a Kratos-shaped session document with the given AAL whose last factor was
// proven at provenAt.
func Session(aal string, provenAt time.Time) map[string]any {
	methods := []map[string]any{{"method": "password", "aal": "aal1", "completed_at": provenAt.Add(-time.Minute).UTC().Format(time.RFC3339Nano)}}
	if aal == "aal2" {
		methods = append(methods, map[string]any{"method": "totp", "aal": "aal2", "completed_at": provenAt.UTC().Format(time.RFC3339Nano)})
	}
	return map[string]any{
		"id":                            SessionIDAAL2,
		"active":                        true,
		"expires_at":                    time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano),
		"authenticated_at":              provenAt.UTC().Format(time.RFC3339Nano),
		"issued_at":                     provenAt.Add(-time.Minute).UTC().Format(time.RFC3339Nano),
		"authenticator_assurance_level": aal,
		"authentication_methods":        methods,
		"identity": map[string]any{
			"id":         IdentityID,
			"schema_id":  "default",
			"schema_url": "http://127.0.0.1/schemas/default",
			"state":      "active",
			"traits":     map[string]any{"email": "user@example.com"},
		},
	}
}

// WriteSession answers 200 with a session document.
func WriteSession(w http.ResponseWriter, s map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s)
}

// WriteError answers like Kratos: Ory's error shape, with an id when given.
func WriteError(w http.ResponseWriter, status int, id string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	idField := ""
	if id != "" {
		idField = fmt.Sprintf(`"id":%q,`, id)
	}
	fmt.Fprintf(w, `{"error":{%s"code":%d,"status":%q,"message":"fake"}}`, idField, status, strings.ToLower(http.StatusText(status)))
}
