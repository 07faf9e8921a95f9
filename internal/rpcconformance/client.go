package rpcconformance

import (
	"context"
	"encoding/json"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
)

// Call describes one call's credentials.
type Call struct {
	Token         string   // x-session-token
	Bearer        string   // authorization: Bearer
	Cookie        string   // cookie
	Cookies       []string // several cookie values
	GatewayCookie string   // grpcgateway-cookie, as grpc-gateway forwards a browser's Cookie
}

// Result is what a call got: the code (the numbering of gRPC and Connect is the same), the
// denial's details, and the handler's replies (one for a unary call, two for Watch).
type Result struct {
	Code    uint32
	Message string
	Info    *errdetails.ErrorInfo
	Help    *errdetails.Help
	Retry   *errdetails.RetryInfo
	// Challenge is the www-authenticate header the client received, where the protocol has
	// one ("" where it is a trailer that Go's HTTP/2 server drops).
	Challenge string
	Replies   []Reply
}

// Client calls the served test service.
type Client interface {
	// Unary calls a unary method (a full method name) with the call's credentials.
	Unary(ctx context.Context, method string, c Call) Result
	// Stream calls Watch and reads every message.
	Stream(ctx context.Context, c Call) Result
}

// Transport serves the test service with an adapter and returns a client for it.
type Transport struct {
	// Name labels the subtests ("grpc", "connect", "connect-grpc", "connect-grpcweb",
	// "connect-grpcgo").
	Name string
	// Serve starts the app on a loopback listener, stops it with t.Cleanup and returns a
	// client of it.
	Serve func(tb testing.TB, app App) Client
	// HeaderChallenge says the client sees the challenge as www-authenticate metadata on
	// denials: grpc-go's server sends header metadata with the status, the Connect protocol
	// sends error metadata as headers (or in its end-of-stream message), gRPC-Web in the body's
	// trailers. Where it is false (Connect's handler speaking gRPC on Go's HTTP/2 server) the
	// trailer is dropped, and the table asserts that it is: the reason the challenge is in the
	// ErrorInfo.
	HeaderChallenge bool
}

// details sorts a status's details into the result.
func (r *Result) details(ds []proto.Message) {
	for _, d := range ds {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			r.Info = d
		case *errdetails.Help:
			r.Help = d
		case *errdetails.RetryInfo:
			r.Retry = d
		}
	}
}

// reply decodes one handler reply.
func (r *Result) reply(tb testing.TB, value string) {
	var rep Reply
	if err := json.Unmarshal([]byte(value), &rep); err != nil {
		tb.Fatalf("reply %q: %v", value, err)
	}
	r.Replies = append(r.Replies, rep)
}
