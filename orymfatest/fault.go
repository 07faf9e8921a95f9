package orymfatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Fault makes whoami misbehave, for testing that the middleware fails closed (the handler
// never runs) when Ory is down, slow or broken. Set one with [Server.SetFault]; the zero Fault
// is no fault. Faults apply to whoami only: the browser pages keep working.
type Fault struct {
	kind   faultKind
	delay  time.Duration
	status int
}

type faultKind int

const (
	noFault faultKind = iota
	faultDown
	faultSlow
	faultStatus
	faultMalformed
)

var (
	// Down closes the connection without answering, so the app's HTTP client gets a transport
	// error, as when Ory is unreachable or crashes mid-request; the middleware answers 503.
	// Go's HTTP client may resend an idempotent request once when a reused connection is
	// closed like this, so [Server.Calls] can count two calls for one request.
	Down = Fault{kind: faultDown}

	// Malformed answers 200 with a truncated JSON session, as a proxy cutting the body would;
	// the middleware answers 502.
	Malformed = Fault{kind: faultMalformed}
)

// Slow answers whoami only after d, as Kratos would then have answered, or not at all when the
// client gives up first (its timeout or context). The middleware answers 504 when its own
// timeout (core.Config.Timeout) is shorter than d. Pending answers are released when the
// server closes.
func Slow(d time.Duration) Fault { return Fault{kind: faultSlow, delay: d} }

// Status answers whoami with an HTTP error status (400 to 599) and a Kratos-shaped error body
// without error id, as Kratos (herodot) writes it for an internal error or a gateway in front
// of Ory for an outage. The middleware answers 502 for anything that is not 401 or a 403
// session_aal2_required. Status(401) answers exactly as Kratos does for no session.
func Status(code int) Fault { return Fault{kind: faultStatus, status: code} }

// String names the fault, e.g. "Slow(2s)", for subtest names.
func (f Fault) String() string {
	switch f.kind {
	case noFault:
		return "NoFault"
	case faultDown:
		return "Down"
	case faultSlow:
		return "Slow(" + f.delay.String() + ")"
	case faultStatus:
		return "Status(" + strconv.Itoa(f.status) + ")"
	case faultMalformed:
		return "Malformed"
	}
	return fmt.Sprintf("Fault(%d)", f.kind)
}

// SetFault makes every whoami answer misbehave as f says, until [Server.ClearFault],
// SetFault(Fault{}) or [Server.Respond]: the latest of SetFault and Respond wins. A Status
// outside 400-599 or a negative Slow fails the test.
func (s *Server) SetFault(f Fault) {
	s.tb.Helper()
	switch {
	case f.kind == faultStatus && (f.status < 400 || f.status > 599):
		s.tb.Fatalf("orymfatest: SetFault: Status(%d) is not an HTTP error status (400-599); use Respond for other answers", f.status)
		return
	case f.kind == faultSlow && f.delay < 0:
		s.tb.Fatalf("orymfatest: SetFault: Slow(%v) with a negative duration", f.delay)
		return
	}
	s.Respond(s.faultHandler(f))
}

// ClearFault restores Kratos's answers after [Server.SetFault] or [Server.Respond].
func (s *Server) ClearFault() { s.Respond(nil) }

// Respond replaces every whoami answer with h, for cases no [Fault] covers (a header Kratos
// v1.3.1 does not send, an odd body). The call is still counted by [Server.Calls]. nil
// restores Kratos's answers. h runs on the server's goroutines: it must not call t.Fatal.
func (s *Server) Respond(h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = h
}

// faultHandler returns the whoami answer for f, or nil for no fault.
func (s *Server) faultHandler(f Fault) http.HandlerFunc {
	switch f.kind {
	case faultDown:
		return func(http.ResponseWriter, *http.Request) {
			// The server closes the connection without writing anything and logs nothing:
			// the client sees EOF or a reset, a transport error.
			panic(http.ErrAbortHandler)
		}
	case faultSlow:
		return func(w http.ResponseWriter, r *http.Request) {
			t := time.NewTimer(f.delay)
			defer t.Stop()
			select {
			case <-t.C:
				s.answerWhoami(w, r)
			case <-r.Context().Done(): // the client gave up
			case <-s.closing: // the test is over
			}
		}
	case faultStatus:
		return func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, f.status, statusError(f.status))
		}
	case faultMalformed:
		return func(w http.ResponseWriter, _ *http.Request) {
			b, _ := json.Marshal(sampleDocument(s.URL))
			h := w.Header()
			kratosHeaders(h)
			h.Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(b[:len(b)/2])
		}
	}
	return nil
}

// statusError is herodot's body for a bare status: the default message of the herodot error
// Kratos would use, or the status text.
func statusError(code int) kratosError {
	if code == http.StatusUnauthorized {
		return noSessionError()
	}
	e := kratosError{Error: kratosErrorBody{Code: code, Status: http.StatusText(code)}}
	switch {
	case code == http.StatusBadRequest:
		e.Error.Message = "The request was malformed or contained invalid parameters"
	case code == http.StatusForbidden:
		e.Error.Message = "The requested action was forbidden"
	case code == http.StatusNotFound:
		e.Error.Message = "The requested resource could not be found"
	case code >= 500:
		e.Error.Message = "An internal server error occurred, please contact the system administrator"
	default:
		e.Error.Message = http.StatusText(code)
	}
	if e.Error.Status == "" {
		e.Error.Status = "Status " + strconv.Itoa(code)
	}
	return e
}

// sampleDocument is a complete aal2 session, the body Malformed cuts in half.
func sampleDocument(baseURL string) sessionDocument {
	rec, _, _ := newIdentityRecord(identityConfig{secondFactor: true}, func() int { return 0 })
	return newSessionRecord(rec, AAL2, time.Now().UTC()).document(baseURL)
}
