package main

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// call invokes a bank method with the Ory session token as "authorization: Bearer". Use TLS
// credentials in production: the token is a bearer secret.
func call(ctx context.Context, addr, token, method, value string) (string, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	var out wrapperspb.StringValue
	if err := conn.Invoke(ctx, method, wrapperspb.String(value), &out); err != nil {
		return "", err
	}
	return out.GetValue(), nil
}

// explain tells the user what a denial means and where to go, from the status's
// google.rpc.ErrorInfo (domain "orymfa.dev"), as any grpc-go client can.
func explain(err error) string {
	st := status.Convert(err)
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok && i.GetDomain() == "orymfa.dev" {
			info = i
		}
	}
	if info == nil {
		return fmt.Sprintf("%s: %s", st.Code(), st.Message())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s\n", st.Code(), info.GetReason(), st.Message())
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
	if st.Code() == codes.PermissionDenied {
		fmt.Fprintf(&b, "\n(challenge: %s)", md["wwwAuthenticate"])
	}
	return b.String()
}
