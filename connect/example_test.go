package orymfa_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/emptypb"

	orymfa "github.com/orymfa/orymfa/connect"
)

// The quick start: every procedure of a service needs a session and one needs a second factor
// proven in the last five minutes, for the Connect, gRPC and gRPC-Web protocols alike. Set
// ORY_SDK_URL to your Ory project URL or Kratos public URL.
func Example() {
	guard := connect.WithInterceptors(orymfa.Interceptor(
		orymfa.ForProcedures(orymfa.RequireSession(), "/bank.v1.Bank/"),
		orymfa.ForProcedures(orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute)), "/bank.v1.Bank/Transfer"),
	))
	mux := http.NewServeMux()
	// mux.Handle(bankv1connect.NewBankServiceHandler(bank{}, guard)) // your generated service
	mux.Handle("/bank.v1.Bank/Transfer", connect.NewUnaryHandler("/bank.v1.Bank/Transfer",
		func(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
			s, _ := orymfa.SessionFromContext(ctx)
			log.Printf("transfer for %s", s.Identity.Id)
			return connect.NewResponse(&emptypb.Empty{}), nil
		}, guard))
	srv := &http.Server{Addr: "127.0.0.1:4457", Handler: mux, Protocols: new(http.Protocols)}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true) // gRPC needs HTTP/2; use TLS in production
	log.Fatal(srv.ListenAndServe())
}

// A Go client reads the denial's google.rpc.ErrorInfo to tell the user where to go.
func ExampleDecisionError() {
	d := orymfa.Decision{Outcome: orymfa.Enroll, RedirectTo: "https://ory.example/self-service/settings/browser"}
	err := error(orymfa.DecisionError(&d)) // what a guarded procedure answers

	// In the client, err is what the call returned.
	var ce *connect.Error
	if errors.As(err, &ce) {
		for _, detail := range ce.Details() {
			m, _ := detail.Value()
			if info, ok := m.(*errdetails.ErrorInfo); ok && info.Domain == orymfa.Domain {
				if info.Metadata[orymfa.MetadataSetupSecondFactor] == "true" {
					fmt.Println("set up a second factor at", info.Metadata[orymfa.MetadataRedirectBrowserTo])
				}
			}
		}
	}
	fmt.Println(connect.CodeOf(err))
	// Output:
	// set up a second factor at https://ory.example/self-service/settings/browser
	// permission_denied
}
