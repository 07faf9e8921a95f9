package orymfa_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/grpc"
	"github.com/orymfa/orymfa/orymfatest"
)

// The scenario table (internal/rpcconformance) covers the denials, faults and stacking through
// real clients of every protocol; these tests cover what is specific to this package.

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// mustPanic asserts that f panics with a message containing want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		p := recover()
		if p == nil {
			t.Fatalf("no panic, want one naming %q", want)
		}
		msg := ""
		switch p := p.(type) {
		case error:
			msg = p.Error()
		case string:
			msg = p
		}
		if !strings.Contains(msg, want) {
			t.Fatalf("panic %v, want it to name %q", p, want)
		}
	}()
	f()
}

func TestSetupPanicsNameTheSetting(t *testing.T) {
	t.Setenv("ORY_SDK_URL", "")
	os.Unsetenv("ORY_SDK_URL")
	mustPanic(t, "ORY_SDK_URL", func() { orymfa.RequireSession() })
	mustPanic(t, "ORY_SDK_URL", func() { orymfa.RequireAAL2() })

	v := orymfa.MustNew(orymfa.Config{SDKURL: "http://127.0.0.1:1", Logger: quiet()})
	r := orymfa.RequireAAL2(orymfa.WithVerifier(v))
	mustPanic(t, "WithMaxAge", func() { orymfa.RequireAAL2(orymfa.WithVerifier(v), orymfa.WithMaxAge(-1)) })
	mustPanic(t, "WithMaxAge is 5ns, under 1s: a time.Duration counts nanoseconds; did you mean 5 * time.Minute?", func() { orymfa.RequireAAL2(orymfa.WithVerifier(v), orymfa.WithMaxAge(5)) })
	mustPanic(t, "no methods", func() { orymfa.ForMethods(r) })
	for _, bad := range []string{"pkg.Service/Method", "/pkg.Service", "//Method", "/pkg.Service/Method/x", "/pkg.Service/Me thod"} {
		mustPanic(t, bad, func() { orymfa.ForMethods(r, bad) })
	}
	mustPanic(t, "already limited", func() { orymfa.ForMethods(orymfa.ForMethods(r, "/a.B/"), "/a.B/C") })
	mustPanic(t, "zero Rule", func() { orymfa.ForMethods(orymfa.Rule{}, "/a.B/C") })
	mustPanic(t, "rule 1 is the zero Rule", func() { orymfa.UnaryServerInterceptor(r, orymfa.Rule{}) })
	mustPanic(t, "rule 0 is the zero Rule", func() { orymfa.StreamServerInterceptor(orymfa.Rule{}) })
}

// TestDecisionStatusMapsEveryOutcome: no decision turns into OK or a status without details,
// whatever the core decided; an allowed decision given to it by mistake is Internal.
func TestDecisionStatusMapsEveryOutcome(t *testing.T) {
	for _, tc := range []struct {
		d    orymfa.Decision
		code codes.Code
	}{
		{orymfa.Decision{Outcome: orymfa.Allow}, codes.Internal},
		{orymfa.Decision{Outcome: orymfa.Outcome(99)}, codes.Internal},
		{orymfa.Decision{Outcome: orymfa.Login}, codes.Unauthenticated},
		{orymfa.Decision{Outcome: orymfa.StepUp}, codes.PermissionDenied},
		{orymfa.Decision{Outcome: orymfa.Enroll}, codes.PermissionDenied},
		{orymfa.Decision{Outcome: orymfa.Refresh}, codes.PermissionDenied},
		{orymfa.Decision{Outcome: orymfa.Unavailable}, codes.Unavailable},
	} {
		st := orymfa.DecisionStatus(&tc.d)
		if st.Code() != tc.code {
			t.Errorf("%v: code %v, want %v", tc.d.Outcome, st.Code(), tc.code)
		}
		if tc.code != codes.Internal && len(st.Details()) == 0 {
			t.Errorf("%v: no details", tc.d.Outcome)
		}
	}
}

// TestOverARealServer serves grpc's own health service behind the interceptors and calls it
// with a grpc-go client: a method of a guarded service is denied with the step-up details and
// the www-authenticate header, and passes once the session is aal2; the handler's context
// carries the session.
func TestOverARealServer(t *testing.T) {
	ory := orymfatest.NewServer(t)
	v := orymfa.MustNew(orymfa.Config{SDKURL: ory.URL, Logger: quiet()})
	sessions := make(chan string, 4)
	record := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		s, ok := orymfa.SessionFromContext(ctx)
		if ok {
			sessions <- string(s.GetAuthenticatorAssuranceLevel())
		}
		return h(ctx, req)
	}
	rule := orymfa.ForMethods(orymfa.RequireAAL2(orymfa.WithVerifier(v)), "/grpc.health.v1.Health/")
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(orymfa.UnaryServerInterceptor(rule), record))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := healthpb.NewHealthClient(conn)

	token := ory.SignIn(ory.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	var header metadata.MD
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Header(&header))
	st := status.Convert(err)
	if st.Code() != codes.PermissionDenied {
		t.Fatalf("aal1: %v, want PermissionDenied", err)
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			info = i
		}
	}
	if info == nil || info.Reason != orymfa.ReasonAAL2Required || info.Domain != orymfa.Domain ||
		info.Metadata[orymfa.MetadataRedirectBrowserTo] != ory.URL+"/self-service/login/browser?aal=aal2" {
		t.Fatalf("ErrorInfo = %v", info)
	}
	if got := header.Get("www-authenticate"); len(got) != 1 || got[0] != info.Metadata[orymfa.MetadataWWWAuthenticate] || !strings.Contains(got[0], `acr_values="aal2"`) {
		t.Fatalf("www-authenticate header %q, ErrorInfo %q", got, info.Metadata[orymfa.MetadataWWWAuthenticate])
	}
	if len(sessions) != 0 {
		t.Fatal("the handler ran on a denied call")
	}

	ory.StepUp(token)
	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("aal2: %v", err)
	}
	if aal := <-sessions; aal != "aal2" {
		t.Fatalf("the handler saw %s", aal)
	}
}

// TestSessionFromContext finds a session put there for a handler's unit test.
func TestSessionFromContext(t *testing.T) {
	if _, ok := orymfa.SessionFromContext(context.Background()); ok {
		t.Fatal("a session in an empty context")
	}
	s := orymfatest.NewSession(orymfatest.AAL2)
	got, ok := orymfa.SessionFromContext(core.ContextWithSession(context.Background(), s))
	if !ok || got != s {
		t.Fatalf("got %v %v", got, ok)
	}
}
