package oteltests_test

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/orymfa/orymfa/internal/conformance"
	"github.com/orymfa/orymfa/internal/kratostest"
)

// codeMFA is a real Ory Kratos v1.3.1 with one-time codes as second factor, started once
// for the package by the first test that needs it (not for -short, nor for benchmarks).
var (
	codeMFAOnce sync.Once
	codeMFA     *kratostest.Project
	codeMFAErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if codeMFA != nil {
		codeMFA.Close()
	}
	os.Exit(code)
}

// kratosBackend is the real Kratos, reached through its whoami-counting proxy.
func kratosBackend(t *testing.T) backend {
	if testing.Short() {
		t.Skip("-short: real Kratos not started")
	}
	codeMFAOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a first run may build Kratos
		defer cancel()
		codeMFA, codeMFAErr = kratostest.Start(ctx, kratostest.CodeMFA)
	})
	if codeMFAErr != nil {
		t.Fatalf("start Kratos (set ORYMFA_KRATOS_BIN; -short runs the kit-based tests only): %v", codeMFAErr)
	}
	p := codeMFA
	return backend{
		url: p.ProxyURL,
		user: func(t *testing.T) (string, func(), func() []string) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			t.Cleanup(cancel)
			email := kratostest.NewEmail()
			token, err := p.RegisterAPI(ctx, email, kratostest.Password)
			if err != nil {
				t.Fatalf("register: %v\n%s", err, p.Log())
			}
			stepUp := func() {
				if err := p.StepUpCodeAPI(ctx, token, email); err != nil {
					t.Fatalf("step up: %v\n%s", err, p.Log())
				}
			}
			secrets := func() []string {
				status, body, err := p.Whoami(ctx, token)
				if err != nil || status != 200 {
					t.Fatalf("whoami: %d %v", status, err)
				}
				var s struct {
					ID       string `json:"id"`
					Identity struct {
						ID     string            `json:"id"`
						Traits map[string]string `json:"traits"`
					} `json:"identity"`
				}
				if err := json.Unmarshal(body, &s); err != nil || s.ID == "" || s.Identity.ID == "" {
					t.Fatalf("whoami body: %v %s", err, body)
				}
				out := []string{token, s.ID, s.Identity.ID, email}
				for _, v := range s.Identity.Traits {
					out = append(out, v)
				}
				return out
			}
			return token, stepUp, secrets
		},
		calls: func() int { return int(p.WhoamiCalls()) },
		reset: p.ResetWhoamiCalls,
	}
}

// TestSequenceKratos runs the sequence against a real Kratos (CodeMFA: a password session is
// aal1 and whoami answers 403 until the emailed code is proven), through every adapter.
func TestSequenceKratos(t *testing.T) {
	for _, ad := range conformance.Adapters {
		t.Run(ad.Name, func(t *testing.T) { testSequence(t, kratosBackend(t), ad) })
	}
}
