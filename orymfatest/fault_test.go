package orymfatest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptrace"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
)

// Every fault must make the middleware fail closed: a 5xx, and the handler never runs.
func TestFaultsFailClosed(t *testing.T) {
	for _, tc := range []struct {
		fault  orymfatest.Fault
		status int
	}{
		{orymfatest.Down, http.StatusServiceUnavailable},
		{orymfatest.Slow(time.Minute), http.StatusGatewayTimeout},
		{orymfatest.Status(500), http.StatusBadGateway},
		{orymfatest.Status(503), http.StatusBadGateway},
		{orymfatest.Malformed, http.StatusBadGateway},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			t.Parallel()
			srv := orymfatest.NewServer(t)
			token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
			p := newProbe()
			app := orymfa.RequireSession(orymfa.WithVerifier(verifier(t, srv, noCache, func(c *core.Config) {
				c.Timeout = 100 * time.Millisecond // Slow(time.Minute) is past it
			})))(p)

			srv.SetFault(tc.fault)
			rec := serve(app, apiRequest(token))
			if rec.Code != tc.status || p.ran() != 0 {
				t.Fatalf("status %d (handler ran %d times), want %d: %s", rec.Code, p.ran(), tc.status, rec.Body)
			}
			if srv.Calls() == 0 {
				t.Fatal("the faulty call was not counted")
			}

			srv.ClearFault()
			if rec := serve(app, apiRequest(token)); rec.Code != 200 || p.ran() != 1 {
				t.Fatalf("after ClearFault: %d", rec.Code)
			}
		})
	}
}

func TestFaultAnswers(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)

	t.Run("Down", func(t *testing.T) {
		srv.SetFault(orymfatest.Down)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/sessions/whoami", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("Down answered %d, want a transport error", res.StatusCode)
		}
	})
	t.Run("Status", func(t *testing.T) {
		srv.SetFault(orymfatest.Status(http.StatusInternalServerError))
		status, h, b := whoami(t, srv.URL, tokenHeader(token))
		want := `{"error":{"code":500,"status":"Internal Server Error","message":"An internal server error occurred, please contact the system administrator"}}` + "\n"
		if status != 500 || string(b) != want || h.Get("Content-Type") != "application/json" {
			t.Fatalf("%d %s", status, b)
		}
		srv.SetFault(orymfatest.Status(http.StatusUnauthorized))
		if status, _, b := whoami(t, srv.URL, tokenHeader(token)); status != 401 || string(b) != kratos401 {
			t.Fatalf("Status(401): %d %s", status, b)
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		srv.SetFault(orymfatest.Malformed)
		status, _, b := whoami(t, srv.URL, tokenHeader(token))
		if status != 200 || json.Valid(b) || len(b) < 100 {
			t.Fatalf("%d %s", status, b)
		}
	})
	t.Run("Slow answers after the delay", func(t *testing.T) {
		srv.SetFault(orymfatest.Slow(50 * time.Millisecond))
		start := time.Now()
		status, _, _ := whoami(t, srv.URL, tokenHeader(token))
		if status != 200 || time.Since(start) < 50*time.Millisecond {
			t.Fatalf("%d after %v", status, time.Since(start))
		}
	})
	t.Run("Respond", func(t *testing.T) {
		// Newer Kratos versions also send the error id as a header.
		srv.Respond(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Ory-Error-Id", "session_aal2_required")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":{"code":403}}`))
		})
		app := orymfa.RequireSession(orymfa.WithVerifier(verifier(t, srv, noCache)))(newProbe())
		rec := serve(app, browserRequest(srv.Cookie(token)))
		wantRedirect(t, srv, rec.Code, rec.Header().Get("Location"), "/self-service/login/browser", "aal", "aal2")
		srv.Respond(nil)
		if rec := serve(app, apiRequest(token)); rec.Code != 200 {
			t.Fatalf("after Respond(nil): %d", rec.Code)
		}
	})
	t.Run("the latest of SetFault and Respond wins", func(t *testing.T) {
		srv.SetFault(orymfatest.Status(502))
		srv.Respond(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(418) })
		if status, _, _ := whoami(t, srv.URL, tokenHeader(token)); status != 418 {
			t.Fatalf("%d", status)
		}
		srv.SetFault(orymfatest.Fault{}) // the zero Fault clears
		if status, _, _ := whoami(t, srv.URL, tokenHeader(token)); status != 200 {
			t.Fatalf("%d", status)
		}
	})
}

// A request held by Slow must not keep the server (and the test) from closing.
func TestSlowReleasedAtCleanup(t *testing.T) {
	done := make(chan struct{})
	t.Run("inner", func(t *testing.T) {
		srv := orymfatest.NewServer(t)
		srv.SetFault(orymfatest.Slow(time.Hour))
		wrote := make(chan struct{})
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }}
		// No timeout: only the server closing ends this request.
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, srv.URL+"/sessions/whoami", nil)
		go func() {
			defer close(done)
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
		}()
		<-wrote // the request is on its way; the inner test ends and closes the server
	})
	<-done
}

func TestFaultString(t *testing.T) {
	for f, want := range map[orymfatest.Fault]string{
		{}:                           "NoFault",
		orymfatest.Down:              "Down",
		orymfatest.Malformed:         "Malformed",
		orymfatest.Slow(time.Second): "Slow(1s)",
		orymfatest.Status(503):       "Status(503)",
	} {
		if got := f.String(); got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}
