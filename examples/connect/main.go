// Command connect is a small Connect bank whose procedures are protected by orymfa, served for
// the Connect, gRPC and gRPC-Web protocols at once, and a client that shows what a denial
// tells it:
//
//	/bank.v1.Bank/Rates     public
//	/bank.v1.Bank/Balance   any Ory session (RequireSession)
//	/bank.v1.Bank/Transfer  a second factor proven within the last five minutes (RequireAAL2)
//
// Run the server next to Ory (or Kratos) with ORY_SDK_URL set, and call it with an Ory session
// token, or from a browser page with connect-web, where the Ory session cookie comes along:
//
//	ORY_SDK_URL=http://127.0.0.1:4433 go run . serve
//	go run . call -token ory_st_... /bank.v1.Bank/Transfer 100
//
// In an app of yours the handlers' types come from protoc-gen-connect-go; this example uses
// protobuf's well-known StringValue as every message so that it needs no protoc.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/wrapperspb"

	orymfa "github.com/orymfa/orymfa/connect"
)

const (
	Rates    = "/bank.v1.Bank/Rates"
	Balance  = "/bank.v1.Bank/Balance"
	Transfer = "/bank.v1.Bank/Transfer"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 {
		log.Fatal("usage: connect serve | connect call [-url http://host:port] [-token ory_st_...] /bank.v1.Bank/Method [value]")
	}
	switch os.Args[1] {
	case "serve":
		addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:4457")
		srv := &http.Server{Addr: addr, Handler: newHandler(), ReadHeaderTimeout: 10 * time.Second, Protocols: new(http.Protocols)}
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true) // gRPC clients need HTTP/2; use TLS in production
		log.Printf("Connect, gRPC and gRPC-Web on http://%s (Ory at %s)", addr, os.Getenv("ORY_SDK_URL"))
		log.Fatal(srv.ListenAndServe())
	case "call":
		fs := flag.NewFlagSet("call", flag.ExitOnError)
		base := fs.String("url", "http://127.0.0.1:4457", "the server's base URL")
		token := fs.String("token", os.Getenv("ORY_SESSION_TOKEN"), "an Ory session token")
		_ = fs.Parse(os.Args[2:])
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := call(ctx, http.DefaultClient, *base, *token, fs.Arg(0), fs.Arg(1))
		if err != nil {
			fmt.Println(explain(err))
			os.Exit(1)
		}
		fmt.Println(out)
	default:
		log.Fatalf("unknown command %q", os.Args[1])
	}
}

// newHandler serves the bank's procedures behind orymfa's interceptor. The rules read
// ORY_SDK_URL and panic here, at startup, when it is missing.
func newHandler() http.Handler {
	guard := connect.WithInterceptors(orymfa.Interceptor(
		orymfa.ForProcedures(orymfa.RequireSession(), Balance, Transfer),
		orymfa.ForProcedures(orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute)), Transfer),
	)) // Rates: no rule matches, so it is public
	mux := http.NewServeMux()
	handle := func(procedure string, h func(ctx context.Context, in string) string) {
		mux.Handle(procedure, connect.NewUnaryHandler(procedure, func(ctx context.Context, req *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
			return connect.NewResponse(wrapperspb.String(h(ctx, req.Msg.GetValue()))), nil
		}, guard))
	}
	handle(Rates, func(ctx context.Context, in string) string { return "EUR/USD 1.08" })
	handle(Balance, func(ctx context.Context, in string) string {
		s, _ := orymfa.SessionFromContext(ctx) // the interceptor put it there
		return "balance of " + s.Identity.Id + ": 1,000.00 EUR"
	})
	handle(Transfer, func(ctx context.Context, in string) string {
		s, _ := orymfa.SessionFromContext(ctx)
		return "transferred " + in + " EUR for " + s.Identity.Id
	})
	return mux
}
