// Package rpcconformance is the scenario table of the gRPC and Connect adapters, the RPC
// counterpart of package conformance: a transport supplies only "serve the test service with
// these rules, and call it"; the users, the step-ups and the assertions live here once, with
// a status code and a google.rpc.ErrorInfo in place of the HTTP status and JSON.
//
// Each scenario runs against a real Ory Kratos v1.3.1 (two projects: one-time codes, where
// every user has a second factor, and TOTP, where users start without one) and against the
// test kit (orymfatest) with the same assertions. What Kratos cannot be made to do (Ory down,
// slow, failing, lying, a panicking HTTP client) runs against the kit alone. Under
// `go test -short` no Kratos is started and only the kit runs.
//
// The transports ([Transports]) are: the grpc module's interceptors behind a grpc-go server
// called by a grpc-go client; the connect module's interceptor behind a Connect handler on
// HTTP/2 without TLS (h2c), called by Connect clients speaking the Connect, gRPC and gRPC-Web
// protocols, and by a grpc-go client. A grpc-gateway in front of the grpc-go server shows that
// a browser's cookie reaches the guard (gateway_test.go).
//
// The service (service.go) is written without generated code: its messages are protobuf's
// well-known wrapperspb.StringValue, and its grpc.ServiceDesc and Connect handlers are built
// by hand, so no protoc is needed.
package rpcconformance
