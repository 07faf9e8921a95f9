package orymfa

// DeniedError is the error [DefaultDenyHandler] returns for a denial that is not a browser
// navigation's. An app's HTTPErrorHandler recognises it with errors.As and reads the decision
// (outcome, RedirectTo); it unwraps to the decision's Err, so errors.Is(err, ErrAAL2Required)
// and friends work too.
//
// It is what echo v5 asks of an error that knows its response: an echo.HTTPStatusCoder
// (echo.StatusCode(err) is the decision's status, 401, 403 or 5xx) and a json.Marshaler (Ory's
// JSON error shape), so echo's DefaultHTTPErrorHandler answers as Ory would. (echo's JSON
// encoder escapes HTML characters: the & in redirect_browser_to arrives as \u0026, which
// decodes to the same string.)
type DeniedError struct {
	Decision *Decision
}

// Error returns the denial's cause; it is for logs, never for clients.
func (e *DeniedError) Error() string {
	if e.Decision == nil || e.Decision.Err == nil {
		return "orymfa: request denied"
	}
	return e.Decision.Err.Error()
}

// Unwrap returns the decision's Err (it wraps a sentinel such as ErrNoSession).
func (e *DeniedError) Unwrap() error {
	if e.Decision == nil {
		return nil
	}
	return e.Decision.Err
}

// StatusCode returns the decision's HTTP status, for echo.StatusCode and echo's error
// handlers (0, "no status", without a decision).
func (e *DeniedError) StatusCode() int {
	if e.Decision == nil {
		return 0
	}
	return e.Decision.Status
}

// MarshalJSON returns the decision's body, Ory's JSON error shape ({} without one).
func (e *DeniedError) MarshalJSON() ([]byte, error) {
	if e.Decision == nil || len(e.Decision.Body) == 0 {
		return []byte("{}"), nil
	}
	return e.Decision.Body, nil
}
