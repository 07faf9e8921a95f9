package exampletest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/orymfa/orymfa/internal/kratostest"
)

// project is the Kratos every test of the example package shares.
var project *kratostest.Project

// Main starts a Kratos project with one-time codes by email as second factor, points
// ORY_SDK_URL at it (the examples read it in newApp), runs the tests and stops Kratos.
func Main(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	p, err := kratostest.Start(ctx, kratostest.CodeMFA)
	cancel()
	if err != nil {
		log.Printf("exampletest: start kratos: %v", err)
		return 1
	}
	defer p.Close()
	project = p
	if err := os.Setenv("ORY_SDK_URL", p.PublicURL); err != nil {
		log.Print(err)
		return 1
	}
	return m.Run()
}

// Run checks one example app. serve starts the app's newApp() on a free loopback port, stops it
// with t.Cleanup and returns its base URL (http://127.0.0.1:port).
func Run(t *testing.T, serve func(t *testing.T) string) {
	if project == nil {
		t.Fatal("exampletest: call exampletest.Main from TestMain")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app := serve(t)
	c := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	t.Run("public page", func(t *testing.T) {
		res := get(t, c, app+"/", "text/html", nil)
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Anyone can see this page")
	})

	for _, path := range []string{"/account", "/transfer"} {
		t.Run("anonymous browser "+path+" goes to login", func(t *testing.T) {
			res := get(t, c, app+path, "text/html", nil)
			wantStatus(t, res, http.StatusSeeOther)
			loc, err := url.Parse(res.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := loc.Scheme+"://"+loc.Host+loc.Path, project.PublicURL+"/self-service/login/browser"; got != want {
				t.Errorf("redirect to %s, want %s", got, want)
			}
			if got, want := loc.Query().Get("return_to"), app+path; got != want {
				t.Errorf("return_to = %q, want %q", got, want)
			}
		})
	}

	t.Run("anonymous API gets 401 JSON", func(t *testing.T) {
		res := get(t, c, app+"/api/me", "application/json", nil)
		wantStatus(t, res, http.StatusUnauthorized)
		wantErrorID(t, res, "session_inactive")
	})

	email := kratostest.NewEmail()
	token, err := project.RegisterAPI(ctx, email, kratostest.Password)
	if err != nil {
		t.Fatal(err)
	}
	withToken := http.Header{"X-Session-Token": {token}}

	// Every identity has a second factor (the emailed code), so Ory itself demands aal2 for
	// an aal1 session on every guarded route.
	for _, path := range []string{"/api/me", "/account", "/transfer"} {
		t.Run("aal1 token "+path+" gets 403 session_aal2_required", func(t *testing.T) {
			res := get(t, c, app+path, "application/json", withToken)
			wantStatus(t, res, http.StatusForbidden)
			wantErrorID(t, res, "session_aal2_required")
		})
	}

	if err := project.StepUpCodeAPI(ctx, token, email); err != nil {
		t.Fatal(err)
	}

	t.Run("aal2 token /api/me answers the identity", func(t *testing.T) {
		res := get(t, c, app+"/api/me", "application/json", withToken)
		wantStatus(t, res, http.StatusOK)
		var identity struct {
			ID     string `json:"id"`
			Traits struct {
				Email string `json:"email"`
			} `json:"traits"`
		}
		if err := json.Unmarshal(res.body, &identity); err != nil {
			t.Fatalf("decode %s: %v", res.body, err)
		}
		if identity.ID == "" || identity.Traits.Email != email {
			t.Errorf("identity = %s, want the email %s", res.body, email)
		}
	})

	for _, path := range []string{"/account", "/transfer"} {
		t.Run("aal2 token "+path+" shows the identity", func(t *testing.T) {
			res := get(t, c, app+path, "text/html", withToken)
			wantStatus(t, res, http.StatusOK)
			wantBody(t, res, email)
			wantBody(t, res, "aal2")
		})
	}

	t.Run("aal2 token POST /transfer", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, app+"/transfer", strings.NewReader("amount=42"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Session-Token", token)
		res := do(t, c, req)
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Sent €42")
	})

	t.Run("browser session after step-up shows a logout link", func(t *testing.T) {
		b := project.NewBrowser()
		email := kratostest.NewEmail()
		if err := b.Register(ctx, email, kratostest.Password); err != nil {
			t.Fatal(err)
		}
		cookie := func() http.Header {
			return http.Header{"Cookie": {b.SessionCookie().String()}}
		}
		res := get(t, c, app+"/transfer", "text/html", cookie())
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); !strings.Contains(loc, "aal=aal2") {
			t.Errorf("aal1 browser session: redirect to %s, want the step-up login (aal=aal2)", loc)
		}
		if err := b.StepUpCode(ctx, email); err != nil {
			t.Fatal(err)
		}
		res = get(t, c, app+"/transfer", "text/html", cookie())
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, email)
		wantBody(t, res, project.PublicURL+"/self-service/logout?token=")
	})
}

type response struct {
	*http.Response
	body []byte
}

func get(t *testing.T, c *http.Client, url, accept string, h http.Header) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Accept", accept)
	return do(t, c, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) response {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res, b}
}

func wantStatus(t *testing.T, res response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", res.Request.Method, res.Request.URL, res.StatusCode, want, res.body)
	}
}

func wantBody(t *testing.T, res response, want string) {
	t.Helper()
	if !strings.Contains(string(res.body), want) {
		t.Errorf("%s %s: body does not contain %q:\n%s", res.Request.Method, res.Request.URL, want, res.body)
	}
}

func wantErrorID(t *testing.T, res response, want string) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if got := kratostest.ErrorID(res.body); got != want {
		t.Errorf("error.id = %q, want %q; body: %s", got, want, res.body)
	}
}

// String is for failure messages.
func (r response) String() string { return fmt.Sprintf("%d %s", r.StatusCode, r.body) }
