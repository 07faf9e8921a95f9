package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strconv"
	"time"

	ory "github.com/ory/client-go"
)

// errorIDAAL2Required is Ory's error id for "this session must step up to aal2".
const errorIDAAL2Required = "session_aal2_required"

// toSession is Ory's whoami request for cred: its session token, else its cookies.
func (v *Verifier) toSession(ctx context.Context, cred credential) ory.FrontendAPIToSessionRequest {
	req := v.ory.FrontendAPI.ToSession(ctx)
	if cred.token != "" {
		return req.XSessionToken(cred.token)
	}
	return req.Cookie(cred.cookie)
}

// whoami asks Ory for the session behind cred and classifies the answer. It returns a verified
// session, or an error wrapping ErrNoSession, ErrAAL2Required or ErrUnavailable. Anything Ory
// says that is not clearly one of the first three is ErrUnavailable: fail closed.
func (v *Verifier) whoami(ctx context.Context, cred credential) (*ory.Session, int, error) {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	start := time.Now()
	sess, resp, err := v.toSession(ctx, cred).Execute()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	s, err := v.classify(ctx, sess, resp, err)
	if ue := unavailable(err); ue != nil {
		ue.Elapsed, ue.OryStatus = time.Since(start), status
	}
	return s, status, err
}

// classify turns client-go's result into a session or an error.
func (v *Verifier) classify(ctx context.Context, sess *ory.Session, resp *http.Response, err error) (*ory.Session, error) {
	switch {
	case err == nil && resp != nil && resp.StatusCode == http.StatusOK:
		// Ory answers JSON; client-go would also decode XML, which skips its checks.
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
			return nil, badGateway("whoami answered "+strconv.Quote(resp.Header.Get("Content-Type"))+", not JSON", nil)
		}
		if err := v.checkSession(sess); err != nil {
			return nil, badGateway("whoami returned an unusable session", err)
		}
		return sess, nil
	case ctx.Err() != nil || resp == nil:
		// No answer, or the deadline passed while the answer was still arriving (a body
		// trickled past the timeout is a timeout, not a malformed session).
		return nil, transportError(ctx, err)
	case resp.StatusCode == http.StatusOK:
		// client-go failed to decode a 200 (malformed, truncated or oversized body).
		return nil, badGateway("whoami returned a malformed session", err)
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, ErrNoSession
	case resp.StatusCode == http.StatusForbidden && errorID(resp, err) == errorIDAAL2Required:
		return nil, ErrAAL2Required
	case resp.StatusCode == http.StatusTooManyRequests:
		// Ory's rate limit (Ory Network's plans have one): Ory is fine, but will not answer
		// for a while; the app is unavailable until then, which is a 503 with Ory's
		// Retry-After, not a 502.
		return nil, &UnavailableError{Status: http.StatusServiceUnavailable, Reason: "Ory rate-limits the app (429)", Err: err,
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), v.now())}
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode >= 300 && resp.StatusCode < 400:
		// Ory's public API always serves whoami, and never redirects it; Kratos's admin API
		// redirects it (307), a wrong path answers 404. The usual cause is the admin URL
		// given where the public one belongs: say so, or the log only reads "307".
		return nil, badGateway(fmt.Sprintf("whoami answered %d: %s", resp.StatusCode, wrongSDKURL), err)
	default:
		return nil, badGateway(fmt.Sprintf("whoami answered %d", resp.StatusCode), err)
	}
}

// wrongSDKURL is the hint in the error of a whoami that is redirected or not found.
const wrongSDKURL = "Config.SDKURL (ORY_SDK_URL) must be Ory's public URL (the Ory project URL or Kratos's public API, port 4433 by default), not the admin API"

// maxRetryAfter bounds the wait passed on from Ory's Retry-After, so a wrong header cannot tell
// clients to stay away for days.
const maxRetryAfter = time.Hour

// parseRetryAfter reads a Retry-After header (delta-seconds or an HTTP date, RFC 9110 10.2.3)
// at now; 0 when it is missing or unreadable.
func parseRetryAfter(h string, now time.Time) time.Duration {
	var d time.Duration
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		d = time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second
	} else if at, err := http.ParseTime(h); err == nil {
		d = at.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
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

// transportError classifies a whoami call that got no (complete) answer: a timeout is 504,
// anything else 503.
func transportError(ctx context.Context, err error) error {
	if err == nil {
		err = errors.New("no response")
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded ||
		(errors.As(err, &netErr) && netErr.Timeout()) {
		return &UnavailableError{Status: http.StatusGatewayTimeout, Reason: "whoami timed out", Err: err}
	}
	if ctx.Err() == context.Canceled {
		return &UnavailableError{Status: http.StatusServiceUnavailable, Reason: "whoami cancelled", Err: context.Canceled}
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
func aalRank(aal *ory.AuthenticatorAssuranceLevel) int8 {
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
