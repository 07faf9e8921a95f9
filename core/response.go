package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Ory's error ids, so a front end written for Ory handles our answers unchanged.
const (
	errorIDSessionInactive = "session_inactive"
	errorIDRefreshRequired = "session_refresh_required"
	errorIDUnavailable     = "ory_unavailable"
)

// oryError is Ory's JSON error shape.
type oryError struct {
	Error struct {
		ID      string         `json:"id,omitempty"`
		Code    int            `json:"code"`
		Status  string         `json:"status"`
		Reason  string         `json:"reason,omitempty"`
		Message string         `json:"message"`
		Details map[string]any `json:"details,omitempty"`
	} `json:"error"`
	RedirectBrowserTo string `json:"redirect_browser_to,omitempty"`
}

// retryAfter is the Retry-After of a 503 when Ory named no wait of its own: Ory outages are
// usually short, and a client that retries at once only adds load.
const retryAfter = "5"

// deny builds the decision for an outcome other than Allow: where the user should go and the
// response that says so in the request's mode, which kind (what carried the request's
// credential) helps decide.
func (g *Guard) deny(r *Request, kind credKind, out Outcome, cause error) Decision {
	r.details()
	d := Decision{Outcome: out, Err: cause, Mode: g.renderMode(r, kind), Header: http.Header{}}
	d.Header.Set("Cache-Control", "no-store")
	if out != Unavailable {
		d.ReturnTo = g.v.returnTo(r)
		d.RedirectTo = g.v.flowURL(out, g.require, d.ReturnTo)
	}
	if d.Mode == ModeBrowser && d.RedirectTo != "" {
		d.Status = http.StatusSeeOther
		d.Header.Set("Location", d.RedirectTo)
		return d
	}

	var e oryError
	e.RedirectBrowserTo = d.RedirectTo
	switch out {
	case Login:
		e.Error.ID, e.Error.Code = errorIDSessionInactive, http.StatusUnauthorized
		e.Error.Message = "No valid session credentials found in the request."
		e.Error.Reason = "Sign in to continue."
		d.Header.Set("WWW-Authenticate", "Bearer")
	case StepUp, Enroll:
		e.Error.ID, e.Error.Code = errorIDAAL2Required, http.StatusForbidden
		e.Error.Message = "Session does not fulfill the Authenticator Assurance Level"
		e.Error.Reason = "Prove a second factor (aal2) to continue."
		if out == Enroll {
			e.Error.Reason = "Set up a second factor (aal2) to continue."
			e.Error.Details = map[string]any{"setup_second_factor": true}
		}
		d.Header.Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", error_description="A second factor is required", acr_values="aal2"`)
	case Refresh:
		e.Error.ID, e.Error.Code = errorIDRefreshRequired, http.StatusForbidden
		e.Error.Message = "The session must be re-authenticated"
		e.Error.Reason = "Sign in again to continue."
		acr := ""
		if g.require == RequireAAL2 {
			e.Error.Reason = "Prove your second factor again to continue."
			acr = `, acr_values="aal2"`
		}
		maxAge := int(g.maxAge.Seconds())
		e.Error.Details = map[string]any{"max_age": maxAge}
		d.Header.Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required"%s, max_age=%d`, acr, maxAge))
	case Unavailable:
		e.Error.ID, e.Error.Code = errorIDUnavailable, http.StatusServiceUnavailable
		if ue := unavailable(cause); ue != nil {
			e.Error.Code = ue.Status
		}
		e.Error.Message = "The session could not be verified. Try again later."
		if e.Error.Code == http.StatusServiceUnavailable {
			wait := retryAfter
			if ue := unavailable(cause); ue != nil && ue.RetryAfter > 0 {
				wait = strconv.Itoa(int((ue.RetryAfter + time.Second - 1) / time.Second)) // Ory's, rounded up
			}
			d.Header.Set("Retry-After", wait)
		}
	}
	e.Error.Status = http.StatusText(e.Error.Code)
	d.Status = e.Error.Code
	if out == Unavailable && d.Mode == ModeBrowser {
		// A person, not a program: a page rather than raw JSON. A deny handler can replace it.
		d.Header.Set("Content-Type", "text/html; charset=utf-8")
		d.Body = unavailablePage
		return d
	}
	d.Header.Set("Content-Type", "application/json; charset=utf-8")
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // redirect_browser_to with plain "&", as Ory writes it
	_ = enc.Encode(e)        // cannot fail: plain strings, ints and bools
	d.Body = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	return d
}

// unavailablePage is the body of a 5xx for a browser navigation.
var unavailablePage = []byte(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sign-in is unavailable</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head><body><h1>Sign-in is unavailable</h1>
<p>We could not check your session just now. Please try again in a moment.</p>
<p><a href="">Try again</a></p></body></html>
`)

// renderMode resolves ModeAuto: API clients (a session token, or no text/html in Accept) get
// JSON, browser navigations a redirect. A bearer token makes an API client even when an Ory
// cookie beside it was the credential (Kratos reads the cookie first): a browser's navigation
// sends no Authorization header.
func (g *Guard) renderMode(r *Request, kind credKind) Mode {
	if g.mode != ModeAuto {
		return g.mode
	}
	if kind == byToken || g.v.names.bearer && bearerToken(r.Authorization) != "" || !strings.Contains(r.Accept, "text/html") {
		return ModeAPI
	}
	return ModeBrowser
}

// flowURL is the Ory self-service URL that resolves an outcome, with return_to.
func (v *Verifier) flowURL(out Outcome, require Requirement, returnTo string) string {
	var path, query string
	switch out {
	case Login:
		path = "/self-service/login/browser"
	case StepUp:
		path, query = "/self-service/login/browser", "aal=aal2"
	case Refresh:
		path, query = "/self-service/login/browser", "refresh=true"
		if require == RequireAAL2 {
			// ?aal=aal2 alone fails with session_already_available on an aal2 session.
			query += "&aal=aal2"
		}
	case Enroll:
		path = "/self-service/settings/browser"
	default:
		return ""
	}
	if returnTo != "" {
		if query != "" {
			query += "&"
		}
		query += "return_to=" + url.QueryEscape(returnTo)
	}
	if query != "" {
		return v.browserURL + path + "?" + query
	}
	return v.browserURL + path
}
