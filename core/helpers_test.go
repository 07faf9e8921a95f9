package core_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// newVerifier builds a verifier for an Ory at url whose errors go to the test log.
func newVerifier(t *testing.T, url string, cfg core.Config) *core.Verifier {
	t.Helper()
	cfg.SDKURL = url
	if cfg.OnError == nil {
		cfg.OnError = func(_ context.Context, err error) { t.Logf("verifier: %v", err) }
	}
	if cfg.AppURL == "" {
		cfg.AppURL = "https://app.example"
	}
	v, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func apiRequest(token string) *core.Request {
	return &core.Request{Method: "GET", URI: "/x?y=1", Host: "app.example", SessionToken: token, Accept: "application/json"}
}

func browserRequest(cookie string) *core.Request {
	return &core.Request{Method: "GET", URI: "/x?y=1", Host: "app.example", Cookie: cookie, Accept: "text/html,*/*;q=0.8"}
}

// sessionJSON is what the kit's whoami shows for token, as a map to edit for odd answers.
func sessionJSON(t *testing.T, srv *orymfatest.Server, token string) map[string]any {
	t.Helper()
	b, err := json.Marshal(srv.Session(token))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// oryErrorBody decodes a denial's JSON body.
type oryErrorBody struct {
	Error struct {
		ID      string         `json:"id"`
		Code    int            `json:"code"`
		Details map[string]any `json:"details"`
	} `json:"error"`
	RedirectBrowserTo string `json:"redirect_browser_to"`
}

func decodeError(t *testing.T, d core.Decision) oryErrorBody {
	t.Helper()
	var e oryErrorBody
	if err := json.Unmarshal(d.Body, &e); err != nil {
		t.Fatalf("denial body is not JSON: %v: %s", err, d.Body)
	}
	return e
}

// ctx is a context for one check.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// listen opens a loopback listener on a free port.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
