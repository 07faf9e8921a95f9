package main

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	orymfa "github.com/orymfa/orymfa/grpc"
)

// The bank.v1.Bank service's methods. In an app of yours these names, the service description
// below and the client stubs come from protoc-gen-go-grpc; this example writes them by hand
// (with protobuf's well-known StringValue as every message) so that it needs no protoc.
const (
	Rates    = "/bank.v1.Bank/Rates"    // public
	Balance  = "/bank.v1.Bank/Balance"  // any Ory session
	Transfer = "/bank.v1.Bank/Transfer" // a second factor proven in the last five minutes
)

// bankService describes bank.v1.Bank for grpc.Server.RegisterService.
var bankService = grpc.ServiceDesc{
	ServiceName: "bank.v1.Bank",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		method("Rates", Rates, func(ctx context.Context, in string) string { return "EUR/USD 1.08" }),
		method("Balance", Balance, func(ctx context.Context, in string) string {
			s, _ := orymfa.SessionFromContext(ctx) // the interceptor put it there
			return "balance of " + s.Identity.Id + ": 1,000.00 EUR"
		}),
		method("Transfer", Transfer, func(ctx context.Context, in string) string {
			s, _ := orymfa.SessionFromContext(ctx)
			return "transferred " + in + " EUR for " + s.Identity.Id
		}),
	},
}

// method is one unary method taking and returning a StringValue, as generated code would
// register it: the server's interceptors run around h.
func method(name, fullMethod string, h func(ctx context.Context, in string) string) grpc.MethodDesc {
	return grpc.MethodDesc{MethodName: name, Handler: func(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.StringValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		handler := func(ctx context.Context, req any) (any, error) {
			return wrapperspb.String(h(ctx, req.(*wrapperspb.StringValue).GetValue())), nil
		}
		if icpt == nil {
			return handler(ctx, in)
		}
		return icpt(ctx, in, &grpc.UnaryServerInfo{FullMethod: fullMethod}, handler)
	}}
}
