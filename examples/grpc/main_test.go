package main

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/orymfa/orymfa/internal/kratostest"
	"github.com/orymfa/orymfa/orymfatest"
)

var (
	kratosOnce sync.Once
	kratos     *kratostest.Project
	kratosErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if kratos != nil {
		kratos.Close()
	}
	os.Exit(code)
}

// serve runs the example's server on a free loopback port; newServer reads ORY_SDK_URL.
func serve(t *testing.T, oryURL string) string {
	t.Setenv("ORY_SDK_URL", oryURL)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer()
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

// stepUpScenario drives the client as a user would: the public method works without a
// session, a password-only session is sent to the step-up with the details a client needs,
// and after proving the second factor the same token moves money.
func stepUpScenario(t *testing.T, addr, oryURL, token string, stepUp func()) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := call(ctx, addr, "", Rates, ""); err != nil || out == "" {
		t.Fatalf("Rates without a session: %q %v", out, err)
	}
	_, err := call(ctx, addr, "", Balance, "")
	if got := explain(err); status.Code(err) != codes.Unauthenticated || !strings.Contains(got, "SESSION_INACTIVE") ||
		!strings.Contains(got, oryURL+"/self-service/login/browser") {
		t.Fatalf("Balance without a session: %v\n%s", err, got)
	}
	_, err = call(ctx, addr, token, Transfer, "100")
	want := "Prove your second factor at " + oryURL + "/self-service/login/browser?aal=aal2, then call again"
	if got := explain(err); status.Code(err) != codes.PermissionDenied || !strings.Contains(got, "SESSION_AAL2_REQUIRED") ||
		!strings.Contains(got, want) || !strings.Contains(got, `acr_values="aal2"`) {
		t.Fatalf("Transfer with the password only: %v\n%s", err, got)
	}
	stepUp()
	out, err := call(ctx, addr, token, Transfer, "100")
	if err != nil || !strings.HasPrefix(out, "transferred 100 EUR for ") {
		t.Fatalf("Transfer after the step-up: %q %v", out, err)
	}
}

func TestStepUpWithKit(t *testing.T) {
	ory := orymfatest.NewServer(t)
	addr := serve(t, ory.URL)
	token := ory.SignIn(ory.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	stepUpScenario(t, addr, ory.URL, token, func() { ory.StepUp(token) })
}

func TestStepUpWithKratos(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no Kratos (TestStepUpWithKit covers the same scenario against orymfatest)")
	}
	kratosOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		kratos, kratosErr = kratostest.Start(ctx, kratostest.CodeMFA)
	})
	if kratosErr != nil {
		t.Fatal(kratosErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	email := kratostest.NewEmail()
	token, err := kratos.RegisterAPI(ctx, email, kratostest.Password) // one-time codes: aal1, with a second factor
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, kratos.PublicURL)
	stepUpScenario(t, addr, kratos.PublicURL, token, func() {
		if err := kratos.StepUpCodeAPI(ctx, token, email); err != nil {
			t.Fatalf("%v\n--- Kratos log ---\n%s", err, kratos.Log())
		}
	})
}
