package orymfa_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	orymfa "github.com/orymfa/orymfa/grpc"
)

// The quick start: every method of a service needs a session, one method needs a second
// factor proven in the last five minutes, and the health service stays public. Set
// ORY_SDK_URL to your Ory project URL or Kratos public URL.
func Example() {
	rules := []orymfa.Rule{
		orymfa.ForMethods(orymfa.RequireSession(), "/bank.v1.Bank/"),
		orymfa.ForMethods(orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute)), "/bank.v1.Bank/Transfer"),
	}
	s := grpc.NewServer(
		grpc.ChainUnaryInterceptor(orymfa.UnaryServerInterceptor(rules...)),
		grpc.ChainStreamInterceptor(orymfa.StreamServerInterceptor(rules...)),
	)
	healthpb.RegisterHealthServer(s, health.NewServer()) // no rule matches: public
	// bankv1.RegisterBankServer(s, bank{}) // your generated service
	ln, err := net.Listen("tcp", "127.0.0.1:4456")
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(s.Serve(ln))
}

// In a handler, the verified session is in the context.
func ExampleSessionFromContext() {
	transfer := func(ctx context.Context) (string, error) {
		s, ok := orymfa.SessionFromContext(ctx)
		if !ok {
			return "", status.Error(codes.Internal, "no session: is the method guarded?")
		}
		return "transferred for " + s.Identity.Id, nil
	}
	_ = transfer
}

// Explicit configuration instead of ORY_SDK_URL, with the same import: a verifier shared by
// all rules (and so one cache).
func ExampleNew() {
	v, err := orymfa.New(orymfa.Config{
		SDKURL:  "https://my-project.projects.oryapis.com",
		Timeout: 3 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = grpc.NewServer(grpc.ChainUnaryInterceptor(orymfa.UnaryServerInterceptor(
		orymfa.ForMethods(orymfa.RequireSession(orymfa.WithVerifier(v)), "/bank.v1.Bank/"),
		orymfa.ForMethods(orymfa.RequireAAL2(orymfa.WithVerifier(v)), "/bank.v1.Bank/Transfer"),
	)))
}

// A grpc-go client reads the denial's google.rpc.ErrorInfo to tell the user where to go.
func ExampleDecisionStatus() {
	d := orymfa.Decision{Outcome: orymfa.StepUp, RedirectTo: "https://ory.example/self-service/login/browser?aal=aal2"}
	err := orymfa.DecisionStatus(&d).Err() // what a guarded method answers

	// In the client, err is what the call returned.
	for _, detail := range status.Convert(err).Details() {
		if info, ok := detail.(*errdetails.ErrorInfo); ok && info.Domain == orymfa.Domain {
			switch info.Reason {
			case orymfa.ReasonAAL2Required:
				fmt.Println("prove a second factor at", info.Metadata[orymfa.MetadataRedirectBrowserTo])
			case orymfa.ReasonSessionInactive:
				fmt.Println("sign in at", info.Metadata[orymfa.MetadataRedirectBrowserTo])
			}
		}
	}
	fmt.Println(status.Code(err))
	// Output:
	// prove a second factor at https://ory.example/self-service/login/browser?aal=aal2
	// PermissionDenied
}
