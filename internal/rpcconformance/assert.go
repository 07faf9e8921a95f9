package rpcconformance

import (
	"net/url"
	"time"

	"google.golang.org/grpc/codes"
)

const (
	challengeLogin   = `Bearer`
	challengeAAL2    = `Bearer error="insufficient_user_authentication", error_description="A second factor is required", acr_values="aal2"`
	challengeRefresh = `Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", acr_values="aal2", max_age=300`
)

// flowURL is the Ory browser flow a denial points at. An RPC has no page to return to, so the
// URL carries no return_to.
func flowURL(oryURL, flow, query string) string {
	u := oryURL + "/self-service/" + flow + "/browser"
	if query != "" {
		u += "?" + query
	}
	return u
}

// denied asserts a denial: the code, the ErrorInfo's domain, reason and metadata, the Help
// link to the same flow, and that the handler did not run.
func (e *env) denied(r Result, code codes.Code, reason, redirectTo, challenge string, setup bool) {
	e.t.Helper()
	if r.Code != uint32(code) || r.Info == nil || r.Info.Reason != reason || r.Info.Domain != "orymfa.dev" {
		e.t.Fatalf("got code %d %q info %v, want %v with reason %s", r.Code, r.Message, r.Info, code, reason)
	}
	md := r.Info.Metadata
	if md["redirectBrowserTo"] != redirectTo {
		e.t.Fatalf("redirectBrowserTo = %q, want %q", md["redirectBrowserTo"], redirectTo)
	}
	if md["wwwAuthenticate"] != challenge {
		e.t.Fatalf("wwwAuthenticate = %q, want %q", md["wwwAuthenticate"], challenge)
	}
	if e.transport.HeaderChallenge && r.Challenge != challenge || !e.transport.HeaderChallenge && r.Challenge != "" {
		e.t.Fatalf("www-authenticate metadata = %q, want %q (the transport carries it: %v)", r.Challenge, challenge, e.transport.HeaderChallenge)
	}
	if got := md["setupSecondFactor"]; (got == "true") != setup || (!setup && got != "") {
		e.t.Fatalf("setupSecondFactor = %q, want it only when the user has no second factor", got)
	}
	if r.Help == nil || len(r.Help.Links) != 1 || r.Help.Links[0].Url != redirectTo {
		e.t.Fatalf("Help = %v, want one link to %s", r.Help, redirectTo)
	}
	if _, err := url.Parse(redirectTo); err != nil || r.Message == "" {
		e.t.Fatalf("redirect %q (%v), message %q", redirectTo, err, r.Message)
	}
	e.handlerDidNotRun()
}

// unavailable asserts an Unavailable denial with ORY_UNAVAILABLE, the HTTP status the HTTP
// adapters would answer, a retry delay, and no handler.
func (e *env) unavailable(r Result, httpStatus string) {
	e.t.Helper()
	e.unavailableAfter(r, httpStatus, 5*time.Second)
}

// unavailableAfter is unavailable with the retry delay Ory named (its 429's Retry-After).
func (e *env) unavailableAfter(r Result, httpStatus string, delay time.Duration) {
	e.t.Helper()
	if r.Code != uint32(codes.Unavailable) || r.Info == nil || r.Info.Reason != "ORY_UNAVAILABLE" || r.Info.Domain != "orymfa.dev" {
		e.t.Fatalf("got code %d %q info %v, want Unavailable ORY_UNAVAILABLE", r.Code, r.Message, r.Info)
	}
	if got := r.Info.Metadata["httpStatus"]; got != httpStatus {
		e.t.Fatalf("httpStatus = %q, want %s", got, httpStatus)
	}
	if r.Retry == nil || r.Retry.RetryDelay.AsDuration() != delay {
		e.t.Fatalf("RetryInfo = %v, want a delay of %v", r.Retry, delay)
	}
	if r.Info.Metadata["redirectBrowserTo"] != "" || r.Help != nil {
		e.t.Fatalf("an Ory failure points at a flow: %v %v", r.Info.Metadata, r.Help)
	}
	e.handlerDidNotRun()
}

func (e *env) handlerDidNotRun() {
	e.t.Helper()
	if n := e.ran.Load(); n != 0 {
		e.t.Fatalf("the protected handler ran %d times on a denied call", n)
	}
}

// allowed asserts the call succeeded, the handler ran (once per reply) with the identity and
// AAL Ory reports, and found the same session through the accessor and the context.
func (e *env) allowed(r Result, replies int, identityID, aal string) {
	e.t.Helper()
	if r.Code != 0 || len(r.Replies) != replies {
		e.t.Fatalf("got code %d %q info %v with %d replies, want OK with %d", r.Code, r.Message, r.Info, len(r.Replies), replies)
	}
	for _, rep := range r.Replies {
		if rep.Handler != "ran" || rep.IdentityID != identityID || rep.AAL != aal || !rep.SameContext {
			e.t.Fatalf("handler saw %+v, want identity %s at %s, same session in the context", rep, identityID, aal)
		}
	}
	if n := e.ran.Swap(0); n != int64(replies) {
		e.t.Fatalf("the handler ran %d times, want %d", n, replies)
	}
}

// calls asserts how many whoami calls were made since the last check.
func (e *env) calls(want int64, what string) {
	e.t.Helper()
	if n := e.whoami.calls.Swap(0); n != want {
		e.t.Fatalf("%s: %d whoami calls, want %d", what, n, want)
	}
}
