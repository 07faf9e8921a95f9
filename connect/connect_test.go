package orymfa_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/emptypb"

	orymfa "github.com/orymfa/orymfa/connect"
	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// The scenario table (internal/rpcconformance) covers the denials, faults and stacking through
// clients of the three protocols; these tests cover what is specific to this package.

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
	mustPanic(t, "no procedures", func() { orymfa.ForProcedures(r) })
	for _, bad := range []string{"pkg.Service/Method", "/pkg.Service", "//Method", "/pkg.Service/Method/x"} {
		mustPanic(t, bad, func() { orymfa.ForProcedures(r, bad) })
	}
	mustPanic(t, "already limited", func() { orymfa.ForProcedures(orymfa.ForProcedures(r, "/a.B/"), "/a.B/C") })
	mustPanic(t, "rule 1 is the zero Rule", func() { orymfa.Interceptor(r, orymfa.Rule{}) })
}

// TestDecisionErrorMapsEveryOutcome: no decision turns into an error without a code and
// details, whatever the core decided; an allowed decision given to it by mistake is Internal.
func TestDecisionErrorMapsEveryOutcome(t *testing.T) {
	for _, tc := range []struct {
		d    orymfa.Decision
		code connect.Code
	}{
		{orymfa.Decision{Outcome: orymfa.Allow}, connect.CodeInternal},
		{orymfa.Decision{Outcome: orymfa.Outcome(99)}, connect.CodeInternal},
		{orymfa.Decision{Outcome: orymfa.Login}, connect.CodeUnauthenticated},
		{orymfa.Decision{Outcome: orymfa.StepUp}, connect.CodePermissionDenied},
		{orymfa.Decision{Outcome: orymfa.Enroll}, connect.CodePermissionDenied},
		{orymfa.Decision{Outcome: orymfa.Refresh}, connect.CodePermissionDenied},
		{orymfa.Decision{Outcome: orymfa.Unavailable}, connect.CodeUnavailable},
	} {
		err := orymfa.DecisionError(&tc.d)
		if err.Code() != tc.code {
			t.Errorf("%v: code %v, want %v", tc.d.Outcome, err.Code(), tc.code)
		}
		if tc.code != connect.CodeInternal && len(err.Details()) == 0 {
			t.Errorf("%v: no details", tc.d.Outcome)
		}
	}
}

// TestClientSideIsLeftAlone: the same interceptor on a client does nothing, so an app may pass
// one set of interceptors to both.
func TestClientSideIsLeftAlone(t *testing.T) {
	ory := orymfatest.NewServer(t)
	v := orymfa.MustNew(orymfa.Config{SDKURL: ory.URL, Logger: quiet()})
	guard := connect.WithInterceptors(orymfa.Interceptor(orymfa.RequireAAL2(orymfa.WithVerifier(v))))
	mux := http.NewServeMux()
	mux.Handle("/t.v1.T/Ping", connect.NewUnaryHandler("/t.v1.T/Ping", func(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
		return connect.NewResponse(&emptypb.Empty{}), nil
	})) // no server-side guard
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := connect.NewClient[emptypb.Empty, emptypb.Empty](srv.Client(), srv.URL+"/t.v1.T/Ping", guard)
	if _, err := client.CallUnary(context.Background(), connect.NewRequest(&emptypb.Empty{})); err != nil {
		t.Fatalf("a client call without credentials through the interceptor: %v", err)
	}
	if n := ory.Calls(); n != 0 {
		t.Fatalf("the client side asked Ory %d times", n)
	}
}

// TestDenialOverHTTP reads a denial as connect-web would: the Connect protocol's JSON error,
// with the ErrorInfo among its details and the challenge as a real header.
func TestDenialOverHTTP(t *testing.T) {
	ory := orymfatest.NewServer(t)
	v := orymfa.MustNew(orymfa.Config{SDKURL: ory.URL, Logger: quiet()})
	guard := connect.WithInterceptors(orymfa.Interceptor(orymfa.RequireAAL2(orymfa.WithVerifier(v))))
	srv := httptest.NewServer(connect.NewUnaryHandler("/t.v1.T/Ping", func(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
		t.Error("the handler ran on a denied call")
		return nil, errors.New("unreachable")
	}, guard))
	t.Cleanup(srv.Close)
	client := connect.NewClient[emptypb.Empty, emptypb.Empty](srv.Client(), srv.URL+"/t.v1.T/Ping")
	token := ory.SignIn(ory.NewIdentity(), orymfatest.AAL1) // no second factor yet
	req := connect.NewRequest(&emptypb.Empty{})
	req.Header().Set("X-Session-Token", token)
	_, err := client.CallUnary(context.Background(), req)
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodePermissionDenied {
		t.Fatalf("got %v, want PermissionDenied", err)
	}
	var info *errdetails.ErrorInfo
	for _, d := range ce.Details() {
		if m, err := d.Value(); err == nil {
			if i, ok := m.(*errdetails.ErrorInfo); ok {
				info = i
			}
		}
	}
	if info == nil || info.Reason != orymfa.ReasonAAL2Required || info.Metadata[orymfa.MetadataSetupSecondFactor] != "true" ||
		info.Metadata[orymfa.MetadataRedirectBrowserTo] != ory.URL+"/self-service/settings/browser" {
		t.Fatalf("ErrorInfo = %v", info)
	}
	if got := ce.Meta().Get("WWW-Authenticate"); got == "" || got != info.Metadata[orymfa.MetadataWWWAuthenticate] {
		t.Fatalf("WWW-Authenticate %q, ErrorInfo %q", got, info.Metadata[orymfa.MetadataWWWAuthenticate])
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
