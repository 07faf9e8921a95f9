package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// call invokes a bank procedure with the Ory session token as X-Session-Token; opts choose the
// protocol (none: Connect; connect.WithGRPC(); connect.WithGRPCWeb()).
func call(ctx context.Context, hc *http.Client, base, token, procedure, value string, opts ...connect.ClientOption) (string, error) {
	client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, base+procedure, opts...)
	req := connect.NewRequest(wrapperspb.String(value))
	if token != "" {
		req.Header().Set("X-Session-Token", token)
	}
	res, err := client.CallUnary(ctx, req)
	if err != nil {
		return "", err
	}
	return res.Msg.GetValue(), nil
}

// explain tells the user what a denial means and where to go, from the error's
// google.rpc.ErrorInfo (domain "orymfa.dev"). connect-web reads the same detail with
// ConnectError.findDetails(ErrorInfoSchema).
func explain(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err.Error()
	}
	var info *errdetails.ErrorInfo
	for _, d := range ce.Details() {
		if m, err := d.Value(); err == nil {
			if i, ok := m.(*errdetails.ErrorInfo); ok && i.GetDomain() == "orymfa.dev" {
				info = i
			}
		}
	}
	if info == nil {
		return fmt.Sprintf("%s: %s", ce.Code(), ce.Message())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s\n", ce.Code(), info.GetReason(), ce.Message())
	md := info.GetMetadata()
	to := md["redirectBrowserTo"]
	switch info.GetReason() {
	case "SESSION_INACTIVE":
		fmt.Fprintf(&b, "Sign in first: %s", to)
	case "SESSION_AAL2_REQUIRED":
		if md["setupSecondFactor"] == "true" {
			fmt.Fprintf(&b, "Set up a second factor (for example TOTP) at %s, then call again.", to)
		} else {
			fmt.Fprintf(&b, "Prove your second factor at %s, then call again with the same session.", to)
		}
	case "SESSION_REFRESH_REQUIRED":
		fmt.Fprintf(&b, "Your second factor is older than %ss: prove it again at %s.", md["maxAge"], to)
	case "ORY_UNAVAILABLE":
		fmt.Fprintf(&b, "Sign-in is unavailable right now; try again in a moment.")
	}
	if ce.Code() == connect.CodePermissionDenied {
		fmt.Fprintf(&b, "\n(challenge: %s)", md["wwwAuthenticate"])
	}
	return b.String()
}
