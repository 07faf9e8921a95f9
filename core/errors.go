package core

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sentinel errors carried by denial decisions; test them with errors.Is.
var (
	// ErrNoSession: no credential, or Ory does not know it (whoami 401).
	ErrNoSession = errors.New("orymfa: no active Ory session")
	// ErrAAL2Required: the session must be stepped up with a second factor.
	ErrAAL2Required = errors.New("orymfa: the session needs a second factor (aal2)")
	// ErrNoSecondFactor: the route needs aal2 but the user has no second factor to prove.
	ErrNoSecondFactor = errors.New("orymfa: the user has no second factor set up")
	// ErrRefreshRequired: the factor the route measures (see WithMaxAge) was proven too long
	// ago.
	ErrRefreshRequired = errors.New("orymfa: the second factor must be proven again")
	// ErrUnavailable: Ory could not be asked or gave no usable answer; see [UnavailableError].
	ErrUnavailable = errors.New("orymfa: Ory is unavailable")
)

// UnavailableError tells why Ory gave no usable answer. It matches [ErrUnavailable] with
// errors.Is and unwraps to the cause.
type UnavailableError struct {
	// Status is the HTTP status the app answers with: 504 for a timeout, 503 when Ory
	// cannot be reached, 502 for an error or nonsense from Ory.
	Status int
	// Reason says what happened, without secrets.
	Reason string
	// Err is the underlying error, if any.
	Err error
	// Elapsed is how long the whoami call ran before it failed (0 if it never started).
	Elapsed time.Duration
	// OryStatus is the HTTP status Ory (or whatever answered) gave, 0 when none: a 500 and a
	// 404 both make a 502, and this tells them apart in the logs.
	OryStatus int
}

// Error says what went wrong, without secrets.
func (e *UnavailableError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("orymfa: Ory is unavailable (%s): %v", e.Reason, e.Err)
	}
	return fmt.Sprintf("orymfa: Ory is unavailable (%s)", e.Reason)
}

// Unwrap returns the cause.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

func badGateway(reason string, err error) *UnavailableError {
	return &UnavailableError{Status: http.StatusBadGateway, Reason: reason, Err: err}
}
