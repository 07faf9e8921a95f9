package orymfa

// DeniedError is the Internal error of the *echo.HTTPError that [DefaultDenyHandler] returns,
// so an app's HTTPErrorHandler can recognise a denial with errors.As and read the decision
// (outcome, RedirectTo). It unwraps to the decision's Err, so errors.Is(err,
// ErrAAL2Required) and friends work on the *echo.HTTPError too.
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

// jsonBody is the Message of a denial's *echo.HTTPError. Like json.RawMessage it marshals to
// itself, so echo's default handler writes Ory's error shape unchanged; unlike it, it prints
// as text in HTTPError.Error() (a json.RawMessage prints as a list of byte values in logs).
type jsonBody []byte

// MarshalJSON returns the body as is.
func (b jsonBody) MarshalJSON() ([]byte, error) { return b, nil }

// String returns the body as text, for logs.
func (b jsonBody) String() string { return string(b) }
