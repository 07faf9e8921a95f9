package orymfatest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// serveWhoami records the call, then answers with the override (Respond, SetFault) if one is
// set, or as Kratos would. Kratos serves whoami for every method but DELETE.
func (s *Server) serveWhoami(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete {
		w.Header().Set("Allow", "GET, HEAD, POST, PUT, PATCH, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, r.Header.Clone())
	respond := s.respond
	s.mu.Unlock()
	if respond != nil {
		respond(w, r)
		return
	}
	s.answerWhoami(w, r)
}

// answerWhoami is Kratos v1.3.1's whoami (session.Handler.whoami): find the session behind the
// request's credential, check the AAL the project requires, answer the session.
func (s *Server) answerWhoami(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	se := s.sessions[s.credential(r)]
	var (
		status = http.StatusOK
		doc    sessionDocument
	)
	switch {
	case se == nil || se.revoked || !time.Now().Before(se.expiresAt):
		// Kratos answers the same for no credential, an unknown one, a revoked and an
		// expired session.
		status = http.StatusUnauthorized
	case !s.lax && se.aal() == AAL1 && se.identity.secondFactor:
		// required_aal highest_available: the identity could prove aal2, so aal1 is not enough.
		status = http.StatusForbidden
	default:
		doc = se.document(s.URL)
		// Kratos tokenizes after its AAL check, so a 403 never carries a token.
		if tpl := r.URL.Query().Get("tokenize_as"); tpl == TokenTemplate {
			var err error
			if doc.Tokenized, err = s.mint(se, time.Now()); err != nil {
				status = http.StatusInternalServerError
			}
		} else if tpl != "" {
			status = http.StatusBadRequest
		}
	}
	s.mu.Unlock()

	switch status {
	case http.StatusBadRequest:
		writeError(w, status, tokenizeError(r.URL.Query().Get("tokenize_as")))
	case http.StatusInternalServerError:
		writeError(w, status, statusError(status))
	case http.StatusUnauthorized:
		writeError(w, http.StatusUnauthorized, noSessionError())
	case http.StatusForbidden:
		writeError(w, http.StatusForbidden, aal2RequiredError(s.URL))
	default:
		h := w.Header()
		kratosHeaders(h)
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("X-Kratos-Authenticated-Identity-Id", doc.Identity.ID)
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(doc)
	}
}

// credential finds the session token as Kratos's ManagerHTTP.extractToken does: a non-empty
// X-Session-Token wins, even when it is wrong; then the session cookie; then
// "Authorization: Bearer". Kratos's cookie is an encrypted container of the token, here it is
// the token itself: a cookie Kratos could not decode falls through to the bearer token, so
// an unknown cookie value does too. Of several cookies of the session's name, Kratos skips
// those it cannot decode (measured: an undecodable one before a valid one answers 200), so
// here the first known one counts. Called with s.mu held.
func (s *Server) credential(r *http.Request) string {
	if tok := r.Header.Get("X-Session-Token"); tok != "" {
		return tok
	}
	for _, c := range r.CookiesNamed(s.cookieName) {
		if tok, ok := s.cookies[c.Value]; ok {
			return tok
		}
		if _, ok := s.sessions[c.Value]; ok {
			return c.Value
		}
	}
	// Kratos splits on single spaces and wants exactly two parts.
	parts := strings.Split(r.Header.Get("Authorization"), " ")
	if len(parts) == 2 && strings.EqualFold(parts[0], "bearer") {
		return parts[1]
	}
	return ""
}

// kratosHeaders sets what Kratos sends with every whoami answer.
func kratosHeaders(h http.Header) {
	h.Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
	h.Set("Vary", "Cookie")
}

// kratosError is herodot's error body, which Kratos sends for every error.
type kratosError struct {
	Error             kratosErrorBody `json:"error"`
	RedirectBrowserTo string          `json:"redirect_browser_to,omitempty"`
}

type kratosErrorBody struct {
	ID      string            `json:"id,omitempty"`
	Code    int               `json:"code"`
	Status  string            `json:"status"`
	Reason  string            `json:"reason,omitempty"`
	Details map[string]string `json:"details,omitempty"`
	Message string            `json:"message"`
}

// noSessionError is whoami's 401 (session.ErrNoSessionFound): no error id, whatever the cause.
func noSessionError() kratosError {
	return kratosError{Error: kratosErrorBody{
		Code:    http.StatusUnauthorized,
		Status:  http.StatusText(http.StatusUnauthorized),
		Reason:  "No valid session credentials found in the request.",
		Message: "The request could not be authorized",
	}}
}

// aal2RequiredError is whoami's 403 (session.ErrAALNotSatisfied). Kratos v1.3.1 points
// redirect_browser_to at the aal2 login without return_to, and sends no Ory-Error-Id header.
func aal2RequiredError(baseURL string) kratosError {
	redirect := baseURL + "/self-service/login/browser?aal=aal2"
	return kratosError{
		Error: kratosErrorBody{
			ID:      "session_aal2_required",
			Code:    http.StatusForbidden,
			Status:  http.StatusText(http.StatusForbidden),
			Reason:  "An active session was found but it does not fulfill the requested Authenticator Assurance Level. Please verify yourself with a second factor to resolve this issue.",
			Details: map[string]string{"redirect_browser_to": redirect},
			Message: "Session does not fulfill the requested Authenticator Assurance Level",
		},
		RedirectBrowserTo: redirect,
	}
}

// writeError writes a Kratos error answer.
func writeError(w http.ResponseWriter, status int, e kratosError) {
	h := w.Header()
	kratosHeaders(h)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}
