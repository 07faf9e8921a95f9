package orymfa

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/orymfa/orymfa/core"
)

// Domain is the google.rpc.ErrorInfo domain of every denial.
const Domain = "orymfa.dev"

// The google.rpc.ErrorInfo reasons of the denials.
const (
	// ReasonSessionInactive: no or invalid session (Unauthenticated); sign in.
	ReasonSessionInactive = "SESSION_INACTIVE"
	// ReasonAAL2Required: prove a second factor, or set one up when the metadata says
	// setupSecondFactor "true" (PermissionDenied).
	ReasonAAL2Required = "SESSION_AAL2_REQUIRED"
	// ReasonRefreshRequired: prove the factor again, it is too old (PermissionDenied).
	ReasonRefreshRequired = "SESSION_REFRESH_REQUIRED"
	// ReasonOryUnavailable: Ory could not be asked; retry later (Unavailable).
	ReasonOryUnavailable = "ORY_UNAVAILABLE"
)

// The google.rpc.ErrorInfo metadata keys of the denials.
const (
	// MetadataRedirectBrowserTo is the Ory browser flow that resolves the denial (login,
	// step-up, refresh or settings). Add return_to=<your page> to come back after it.
	MetadataRedirectBrowserTo = "redirectBrowserTo"
	// MetadataSetupSecondFactor is "true" when the user has no second factor yet and is sent
	// to set one up in the settings flow.
	MetadataSetupSecondFactor = "setupSecondFactor"
	// MetadataWWWAuthenticate is the RFC 9470 challenge (Bearer
	// error="insufficient_user_authentication", acr_values="aal2", max_age=…). It is carried
	// here because Go's HTTP/2 server drops a trailer of that name.
	MetadataWWWAuthenticate = "wwwAuthenticate"
	// MetadataMaxAge is the most seconds a factor may be old (SESSION_REFRESH_REQUIRED).
	MetadataMaxAge = "maxAge"
	// MetadataHTTPStatus is the HTTP status the HTTP adapters answer for the same failure
	// (ORY_UNAVAILABLE: 503 unreachable or rate-limiting (Ory's 429), 504 timeout, 502 an error
	// or nonsense from Ory).
	MetadataHTTPStatus = "httpStatus"
)

// retryDelay is the RetryInfo delay when the core names none (it names one, Retry-After, for
// a 503 only): Ory outages are usually short, and a client that retries at once only adds load.
const retryDelay = 5 * time.Second

// DecisionError turns a denial into the *connect.Error the interceptor answers with: the
// code, a google.rpc.ErrorInfo, a google.rpc.Help link to the browser flow, for Ory failures a
// google.rpc.RetryInfo, and the RFC 9470 challenge as WWW-Authenticate metadata. Every outcome
// is mapped explicitly; an allowed or unknown decision gives Internal.
func DecisionError(d *Decision) *connect.Error {
	var (
		code   connect.Code
		reason string
		help   string
	)
	switch d.Outcome {
	case core.Login:
		code, reason, help = connect.CodeUnauthenticated, ReasonSessionInactive, "Sign in"
	case core.StepUp:
		code, reason, help = connect.CodePermissionDenied, ReasonAAL2Required, "Prove a second factor"
	case core.Enroll:
		code, reason, help = connect.CodePermissionDenied, ReasonAAL2Required, "Set up a second factor"
	case core.Refresh:
		code, reason, help = connect.CodePermissionDenied, ReasonRefreshRequired, "Prove your factor again"
	case core.Unavailable:
		code, reason = connect.CodeUnavailable, ReasonOryUnavailable
	default:
		return connect.NewError(connect.CodeInternal, errors.New("orymfa: the guard made no denial of this decision"))
	}
	body := decodeBody(d.Body)
	info := &errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: map[string]string{}}
	if d.RedirectTo != "" {
		info.Metadata[MetadataRedirectBrowserTo] = d.RedirectTo
	}
	if d.Outcome == core.Enroll {
		info.Metadata[MetadataSetupSecondFactor] = "true"
	}
	if ch := challenge(d); ch != "" {
		info.Metadata[MetadataWWWAuthenticate] = ch
	}
	if age, ok := body.Error.Details["max_age"].(float64); ok {
		info.Metadata[MetadataMaxAge] = strconv.Itoa(int(age))
	}
	details := []proto.Message{info}
	if d.Outcome == core.Unavailable {
		info.Metadata[MetadataHTTPStatus] = strconv.Itoa(d.Status)
		delay := retryDelay
		if s, err := strconv.Atoi(d.Header.Get("Retry-After")); err == nil && s > 0 {
			delay = time.Duration(s) * time.Second
		}
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(delay)})
	}
	if d.RedirectTo != "" {
		details = append(details, &errdetails.Help{Links: []*errdetails.Help_Link{{Description: help, Url: d.RedirectTo}}})
	}
	msg := body.Error.Message
	if body.Error.Reason != "" {
		msg = strings.TrimSuffix(msg, ".") + ". " + body.Error.Reason
	}
	err := connect.NewError(code, errors.New(msg))
	for _, m := range details {
		if detail, e := connect.NewErrorDetail(m); e == nil {
			err.AddDetail(detail)
		}
	}
	if ch := challenge(d); ch != "" {
		// A real header for the Connect protocol's unary calls; a trailer elsewhere.
		err.Meta().Set("WWW-Authenticate", ch)
	}
	return err
}

// challenge is the RFC 9470 challenge the core built for the denial, if any.
func challenge(d *Decision) string { return d.Header.Get("WWW-Authenticate") }

// oryBody is the part of the core's JSON denial (Ory's error shape) the error repeats: the
// texts and details the core wrote, so that no wording is decided here.
type oryBody struct {
	Error struct {
		Message string         `json:"message"`
		Reason  string         `json:"reason"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

func decodeBody(b []byte) oryBody {
	var body oryBody
	_ = json.Unmarshal(b, &body) // the core's own JSON; empty fields if it ever is not
	return body
}
