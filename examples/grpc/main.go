// Command grpc is a small gRPC bank whose methods are protected by orymfa, and a client that
// shows what a denial tells it:
//
//	/bank.v1.Bank/Rates     public
//	/bank.v1.Bank/Balance   any Ory session (RequireSession)
//	/bank.v1.Bank/Transfer  a second factor proven within the last five minutes (RequireAAL2)
//
// Run the server next to Ory (or Kratos) with ORY_SDK_URL set, as in Ory's guides, and call it
// with an Ory session token (from an API login flow, or the demo's pages):
//
//	ORY_SDK_URL=http://127.0.0.1:4433 go run . serve
//	go run . call -token ory_st_... /bank.v1.Bank/Transfer 100
//
// A denied call prints the google.rpc.ErrorInfo the server sent and where to go: Ory's step-up
// (or, for a user without a second factor, the settings page to set one up). Prove it there
// with the same session and call again.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"

	orymfa "github.com/orymfa/orymfa/grpc"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 {
		log.Fatal("usage: grpc serve | grpc call [-addr host:port] [-token ory_st_...] /bank.v1.Bank/Method [value]")
	}
	switch os.Args[1] {
	case "serve":
		addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:4456")
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("gRPC on %s (Ory at %s)", ln.Addr(), os.Getenv("ORY_SDK_URL"))
		log.Fatal(newServer().Serve(ln))
	case "call":
		fs := flag.NewFlagSet("call", flag.ExitOnError)
		addr := fs.String("addr", "127.0.0.1:4456", "the server's address")
		token := fs.String("token", os.Getenv("ORY_SESSION_TOKEN"), "an Ory session token")
		_ = fs.Parse(os.Args[2:])
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := call(ctx, *addr, *token, fs.Arg(0), fs.Arg(1))
		if err != nil {
			fmt.Println(explain(err))
			os.Exit(1)
		}
		fmt.Println(out)
	default:
		log.Fatalf("unknown command %q", os.Args[1])
	}
}

// newServer builds the gRPC server with the bank service behind orymfa's interceptors. The
// rules read ORY_SDK_URL and panic here, at startup, when it is missing.
func newServer() *grpc.Server {
	rules := []orymfa.Rule{
		orymfa.ForMethods(orymfa.RequireSession(), Balance, Transfer),
		orymfa.ForMethods(orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute)), Transfer),
	} // Rates: no rule matches, so it is public
	s := grpc.NewServer(
		grpc.ChainUnaryInterceptor(orymfa.UnaryServerInterceptor(rules...)),
		grpc.ChainStreamInterceptor(orymfa.StreamServerInterceptor(rules...)),
	)
	s.RegisterService(&bankService, nil)
	return s
}
