package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	ory "github.com/ory/client-go"
)

// errorIDAAL2Required is Ory's error id for "this session must step up to aal2".
const errorIDAAL2Required = "session_aal2_required"

// whoami asks Ory for the session behind cred and classifies the answer. It returns a verified
// session, or an error wrapping ErrNoSession, ErrAAL2Required or ErrUnavailable. Anything Ory
// says that is not clearly one of the first three is ErrUnavailable: fail closed.
func (v *Verifier) whoami(ctx context.Context, cred Credential) (*ory.Session, error) {
	if cred.IsZero() {
		return nil, ErrNoSession
	}
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	req := v.ory.FrontendAPI.ToSession(ctx)
	if cred.Token != "" {
		req = req.XSessionToken(cred.Token)
	} else {
		req = req.Cookie(cred.Cookie)
	}
	sess, resp, err := req.Execute()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if resp == nil {
		return nil, transportError(ctx, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK && err == nil:
		if err := v.checkSession(sess); err != nil {
			return nil, badGateway("whoami returned an unusable session", err)
		}
		return sess, nil
	case resp.StatusCode == http.StatusOK:
		// client-go failed to decode a 200 (malformed, truncated or oversized body).
		return nil, badGateway("whoami returned a malformed session", err)
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, ErrNoSession
	case resp.StatusCode == http.StatusForbidden && errorID(resp, err) == errorIDAAL2Required:
		return nil, ErrAAL2Required
	default:
		return nil, badGateway(fmt.Sprintf("whoami answered %d", resp.StatusCode), err)
	}
}

// errorID reads Ory's error id from the Ory-Error-Id header (newer Kratos) or the JSON body
// (Kratos v1.3.1 sends only the body).
func errorID(resp *http.Response, err error) string {
	if id := resp.Header.Get("Ory-Error-Id"); id != "" {
		return id
	}
	var apiErr *ory.GenericOpenAPIError
	if !errors.As(err, &apiErr) {
		return ""
	}
	var body struct {
		Error struct {
			ID string `json:"id"`
		} `json:"error"`
	}
	if json.Unmarshal(apiErr.Body(), &body) != nil {
		return ""
	}
	return body.Error.ID
}

// transportError classifies a whoami call that got no response.
func transportError(ctx context.Context, err error) error {
	if err == nil {
		err = errors.New("no response")
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded ||
		(errors.As(err, &netErr) && netErr.Timeout()) {
		return &UnavailableError{Status: http.StatusGatewayTimeout, Reason: "whoami timed out", Err: err}
	}
	return &UnavailableError{Status: http.StatusServiceUnavailable, Reason: "whoami failed", Err: err}
}

// checkSession refuses a 200 answer that does not describe a usable session: Ory (or whatever
// answers in its place) must not grant access by omission.
func (v *Verifier) checkSession(s *ory.Session) error {
	switch {
	case s == nil || s.Id == "":
		return errors.New("no session id")
	case s.Active == nil || !*s.Active:
		return errors.New("session is not active")
	case s.ExpiresAt == nil:
		return errors.New("session has no expiry")
	case !s.ExpiresAt.After(v.now()):
		return errors.New("session has expired")
	case s.Identity == nil || s.Identity.Id == "":
		return errors.New("session has no identity")
	case aalRank(s.AuthenticatorAssuranceLevel) == 0:
		return errors.New("session has no valid authenticator assurance level")
	}
	return nil
}

// aalRank orders assurance levels; 0 means missing or unknown.
func aalRank(aal *ory.AuthenticatorAssuranceLevel) int {
	if aal == nil {
		return 0
	}
	switch *aal {
	case ory.AUTHENTICATORASSURANCELEVEL_AAL1:
		return 1
	case ory.AUTHENTICATORASSURANCELEVEL_AAL2:
		return 2
	case ory.AUTHENTICATORASSURANCELEVEL_AAL3:
		return 3
	}
	return 0
}

// limitedTransport fails a response whose body exceeds maxWhoamiBody, so client-go's
// io.ReadAll cannot be made to buffer an unbounded answer.
type limitedTransport struct{ base http.RoundTripper }

// RoundTrip wraps the response body in a limitedBody.
func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{r: io.LimitReader(resp.Body, maxWhoamiBody+1), c: resp.Body}
	return resp, nil
}

type limitedBody struct {
	r io.Reader
	c io.Closer
	n int64
}

var errBodyTooLarge = errors.New("answer larger than 1 MiB")

// Read fails with errBodyTooLarge once more than maxWhoamiBody bytes were read.
func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > maxWhoamiBody {
		return n, errBodyTooLarge
	}
	return n, err
}

// Close closes the underlying body.
func (b *limitedBody) Close() error { return b.c.Close() }
