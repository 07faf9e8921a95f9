package core

import (
	"context"
	"net/http"

	ory "github.com/ory/client-go"
)

// Outcome is what the middleware should do with a request.
type Outcome int

const (
	// Allow: run the handler with the session.
	Allow Outcome = iota
	// Login: no session; sign in.
	Login
	// StepUp: prove a second factor (login with aal=aal2).
	StepUp
	// Refresh: prove the factors again (login with refresh=true).
	Refresh
	// Enroll: the route needs aal2 but the user has no second factor: set one up in settings.
	Enroll
	// Unavailable: Ory could not be asked or gave no usable answer; answer 5xx.
	Unavailable
)

var outcomeNames = [...]string{"allow", "login", "step-up", "refresh", "enroll", "unavailable"}

// String names the outcome for logs and tests ("allow", "login", "step-up", …).
func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return "unknown"
	}
	return outcomeNames[o]
}

// Decision is the core's answer for one request. When Outcome is Allow, Session is set and the
// adapter runs the handler. Otherwise Status, Header and Body are the complete response (a 303
// redirect for browsers, JSON in Ory's error shape for APIs) that the adapter writes as is,
// unless the app installed its own deny handler, which gets the Decision to render itself.
type Decision struct {
	Outcome Outcome
	// Session is the verified session when allowed; on StepUp, Refresh and Enroll it is the
	// session that fell short, when known.
	Session *ory.Session
	// FromContext reports that an earlier guard already stored Session in the context.
	FromContext bool
	// Err says why the request was denied; it wraps ErrNoSession, ErrAAL2Required,
	// ErrNoSecondFactor, ErrRefreshRequired or ErrUnavailable.
	Err error
	// Mode is how the denial is rendered: ModeBrowser or ModeAPI.
	Mode Mode
	// RedirectTo is the Ory URL that resolves the denial (login, step-up, refresh or
	// settings), with return_to; empty when allowed or unavailable.
	RedirectTo string
	// ReturnTo is where Ory sends the user back: the absolute URL of the original request, or
	// for an unsafe method (a form's POST) the page the form was on (a same-origin Referer)
	// or the app's root ("" if none could be built).
	ReturnTo string
	// Status, Header and Body make up the default response for a denial.
	Status int
	Header http.Header
	Body   []byte

	grant *grant // the verified session, for Context
	fresh bool   // Ory confirmed it during this request
}

// Allowed reports whether the handler may run.
func (d *Decision) Allowed() bool { return d.Outcome == Allow && d.Session != nil }

// Context returns parent carrying the verified session of an allowed decision: the handler
// reads it with the adapter's accessor, and a later guard on the same request that uses the
// same Verifier reuses it instead of asking Ory again. Adapters call it unless FromContext
// is set (the session is in the context already). It returns parent when not allowed.
func (d *Decision) Context(parent context.Context) context.Context {
	if !d.Allowed() || d.grant == nil {
		return parent
	}
	return contextWithGrant(parent, d.grant, d.fresh)
}
