package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/orymfa/orymfa/core/internal/ratelog"
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
	// cannot be reached or rate-limits the app (its 429), 502 for an error or nonsense from
	// Ory.
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
	// RetryAfter is how long Ory asked to wait (the Retry-After of its 429), 0 when it did
	// not say; the 503 passes it on to the client.
	RetryAfter time.Duration
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

// unavailable returns the *UnavailableError in err's chain, or nil.
func unavailable(err error) *UnavailableError {
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return ue
	}
	return nil
}

// failureKind is what the error log's rate limit counts per: the status answered and Ory's
// own.
type failureKind struct{ status, oryStatus int }

// newErrorLog returns the default report of failures talking to Ory: each record has the
// same attributes (outcome, status, ory_status, duration, reason), and each kind of failure
// is logged at most once per interval (every ≤ 0: always), so an Ory outage makes one line
// per interval, not one per request; the next line says how many were held back.
func newErrorLog(logger *slog.Logger, every time.Duration, now func() time.Time) func(context.Context, error) {
	l := ratelog.New[failureKind](logger, every, now)
	return func(ctx context.Context, err error) {
		attrs := []slog.Attr{slog.String("outcome", Unavailable.String())}
		var kind failureKind
		if ue := unavailable(err); ue != nil {
			kind = failureKind{ue.Status, ue.OryStatus}
			attrs = append(attrs, slog.Int("status", ue.Status), slog.Int("ory_status", ue.OryStatus),
				slog.Duration("duration", ue.Elapsed), slog.String("reason", ue.Reason))
		}
		l.Error(ctx, kind, "orymfa: cannot verify the Ory session", attrs, err)
	}
}
