package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

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

// serve runs the example's handler on a free loopback port over HTTP/1.1 and h2c, and returns
// its base URL and an HTTP/2 client; newHandler reads ORY_SDK_URL.
func serve(t *testing.T, oryURL string) (string, *http.Client) {
	t.Setenv("ORY_SDK_URL", oryURL)
	srv := httptest.NewUnstartedServer(newHandler())
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	return srv.URL, &http.Client{Transport: tr}
}

// stepUpScenario drives the client as a user would, in each protocol: the public procedure
// works without a session, a password-only session is sent to the step-up with the details a
// client needs, and after proving the second factor the same token moves money.
func stepUpScenario(t *testing.T, base string, hc *http.Client, oryURL, token string, stepUp func()) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	protocols := map[string][]connect.ClientOption{"connect": nil, "grpc": {connect.WithGRPC()}, "grpcweb": {connect.WithGRPCWeb()}}
	for name, opts := range protocols {
		if out, err := call(ctx, hc, base, "", Rates, "", opts...); err != nil || out == "" {
			t.Fatalf("%s: Rates without a session: %q %v", name, out, err)
		}
		_, err := call(ctx, hc, base, "", Balance, "", opts...)
		if got := explain(err); connect.CodeOf(err) != connect.CodeUnauthenticated || !strings.Contains(got, "SESSION_INACTIVE") ||
			!strings.Contains(got, oryURL+"/self-service/login/browser") {
			t.Fatalf("%s: Balance without a session: %v\n%s", name, err, got)
		}
		_, err = call(ctx, hc, base, token, Transfer, "100", opts...)
		want := "Prove your second factor at " + oryURL + "/self-service/login/browser?aal=aal2, then call again"
		if got := explain(err); connect.CodeOf(err) != connect.CodePermissionDenied || !strings.Contains(got, "SESSION_AAL2_REQUIRED") ||
			!strings.Contains(got, want) || !strings.Contains(got, `acr_values="aal2"`) {
			t.Fatalf("%s: Transfer with the password only: %v\n%s", name, err, got)
		}
	}
	stepUp()
	for name, opts := range protocols {
		out, err := call(ctx, hc, base, token, Transfer, "100", opts...)
		if err != nil || !strings.HasPrefix(out, "transferred 100 EUR for ") {
			t.Fatalf("%s: Transfer after the step-up: %q %v", name, out, err)
		}
	}
}

func TestStepUpWithKit(t *testing.T) {
	ory := orymfatest.NewServer(t)
	base, hc := serve(t, ory.URL)
	token := ory.SignIn(ory.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	stepUpScenario(t, base, hc, ory.URL, token, func() { ory.StepUp(token) })
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
	base, hc := serve(t, kratos.PublicURL)
	stepUpScenario(t, base, hc, kratos.PublicURL, token, func() {
		if err := kratos.StepUpCodeAPI(ctx, token, email); err != nil {
			t.Fatalf("%v\n--- Kratos log ---\n%s", err, kratos.Log())
		}
	})
}
