package exampletest

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orymfa/orymfa/internal/kratostest"
	"github.com/orymfa/orymfa/orymfatest"
)

// The Kratos project the real-Kratos tests of one example package share, started by the first
// of them (so -short and kit-only runs start none) and stopped by [Main].
var (
	kratosOnce sync.Once
	kratos     *kratostest.Project
	kratosErr  error
)

// Main runs the tests and then stops the Kratos project [Run] started, if any. Call it from
// TestMain: os.Exit(exampletest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if kratos != nil {
		kratos.Close()
	}
	return code
}

// Serve starts the example's newApp on a free loopback port, stops it with t.Cleanup and
// returns its base URL (http://127.0.0.1:port). newApp reads ORY_SDK_URL, which the runners
// set (t.Setenv) before they call it.
type Serve func(t *testing.T) string

// Run checks an example against a real Ory Kratos with one-time codes by email as second
// factor, so every identity has one. With -short it is skipped.
func Run(t *testing.T, serve Serve) {
	if testing.Short() {
		t.Skip("-short: no Kratos (RunWithKit covers the same scenario against orymfatest)")
	}
	kratosOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		kratos, kratosErr = kratostest.Start(ctx, kratostest.CodeMFA)
		if kratosErr != nil {
			log.Printf("exampletest: start Kratos: %v", kratosErr)
		}
	})
	if kratosErr != nil {
		t.Fatal(kratosErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\n--- Kratos log ---\n%s", err, kratos.Log())
		}
	}
	scenario(t, serve, backend{
		url: kratos.PublicURL,
		signUp: func(t *testing.T) (string, string) {
			email := kratostest.NewEmail()
			token, err := kratos.RegisterAPI(ctx, email, kratostest.Password)
			must(t, err)
			return token, email
		},
		stepUp: func(t *testing.T, token, email string) { must(t, kratos.StepUpCodeAPI(ctx, token, email)) },
		browser: func(t *testing.T) (string, func() *http.Cookie, func()) {
			b, email := kratos.NewBrowser(), kratostest.NewEmail()
			must(t, b.Register(ctx, email, kratostest.Password))
			return email, b.SessionCookie, func() { must(t, b.StepUpCode(ctx, email)) }
		},
		logout: true,
	})
}

// RunWithKit checks an example against orymfatest's fake Ory: the same scenario as [Run], in
// milliseconds and without Kratos. The kit has no logout flow, so the pages show no logout
// link there.
func RunWithKit(t *testing.T, serve Serve) {
	ory := orymfatest.NewServer(t)
	var n atomic.Int64
	newUser := func() (*orymfatest.Identity, string) {
		email := fmt.Sprintf("kit-%d@example.com", n.Add(1))
		return ory.NewIdentity(orymfatest.WithSecondFactor(), orymfatest.WithTraits(map[string]any{"email": email})), email
	}
	scenario(t, serve, backend{
		url: ory.URL,
		signUp: func(t *testing.T) (string, string) {
			id, email := newUser()
			return ory.SignIn(id, orymfatest.AAL1), email
		},
		stepUp: func(t *testing.T, token, _ string) { ory.StepUp(token) },
		browser: func(t *testing.T) (string, func() *http.Cookie, func()) {
			id, email := newUser()
			token := ory.SignIn(id, orymfatest.AAL1)
			return email, func() *http.Cookie { return ory.Cookie(token) }, func() { ory.StepUp(token) }
		},
	})
}

// backend is what the scenario needs of an Ory, real or fake. Its functions fail the test they
// are given; the scenario calls them from that test's goroutine.
type backend struct {
	url string // ORY_SDK_URL
	// signUp creates a user with a second factor, signed in with the password only (aal1) as an
	// API client, and returns the session token and the email.
	signUp func(t *testing.T) (token, email string)
	// stepUp proves the second factor on the token's session.
	stepUp func(t *testing.T, token, email string)
	// browser does the same for a browser: cookie returns its session cookie as it is now (it
	// changes on step-up).
	browser func(t *testing.T) (email string, cookie func() *http.Cookie, stepUp func())
	logout  bool // pages show a logout link
}

func scenario(t *testing.T, serve Serve, ory backend) {
	t.Setenv("ORY_SDK_URL", ory.url)
	t.Setenv("ORYMFA_DEMO", "") // Ory's own self-service links, not the demo's UI
	app := serve(t)
	c := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	t.Run("public page, signed out", func(t *testing.T) {
		res := get(t, c, app+"/", "text/html", nil)
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Anyone can see this page")
		wantBody(t, res, `data-state="signed-out"`)
		wantBody(t, res, `href="`+ory.url+`/self-service/login/browser"`)
		wantBody(t, res, `href="`+ory.url+`/self-service/settings/browser"`)
	})

	for _, path := range []string{"/account", "/transfer"} {
		t.Run("anonymous browser "+path+" goes to login", func(t *testing.T) {
			res := get(t, c, app+path, "text/html", nil)
			wantStatus(t, res, http.StatusSeeOther)
			loc, err := url.Parse(res.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := loc.Scheme+"://"+loc.Host+loc.Path, ory.url+"/self-service/login/browser"; got != want {
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

	token, email := ory.signUp(t)
	withToken := http.Header{"X-Session-Token": {token}}

	// The user has a second factor, so Ory itself demands aal2 for an aal1 session on every
	// guarded route.
	for _, path := range []string{"/api/me", "/account", "/transfer"} {
		t.Run("aal1 token "+path+" gets 403 session_aal2_required", func(t *testing.T) {
			res := get(t, c, app+path, "application/json", withToken)
			wantStatus(t, res, http.StatusForbidden)
			wantErrorID(t, res, "session_aal2_required")
		})
	}

	ory.stepUp(t, token, email)

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
			wantText(t, res, "email", email)
			wantText(t, res, "aal", "aal2")
			wantText(t, res, "who-email", email)
		})
	}

	t.Run("aal2 token POST /transfer", func(t *testing.T) {
		res := post(t, c, app+"/transfer", http.Header{"X-Session-Token": {token}})
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, "Sent €42")
	})

	// A browser: password first (aal1), then the second factor.
	email, cookie, stepUp := ory.browser(t)
	withCookie := func() http.Header { return http.Header{"Cookie": {cookie().String()}} }

	t.Run("aal1 browser /transfer goes to the step-up", func(t *testing.T) {
		res := get(t, c, app+"/transfer", "text/html", withCookie())
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); !strings.Contains(loc, "aal=aal2") {
			t.Errorf("redirect to %s, want the step-up login (aal=aal2)", loc)
		}
	})
	t.Run("public page, aal1: signed in, second factor pending", func(t *testing.T) {
		res := get(t, c, app+"/", "text/html", withCookie())
		wantStatus(t, res, http.StatusOK)
		wantBody(t, res, `data-state="signed-in"`)
		wantText(t, res, "who-aal", "aal1")
		wantBody(t, res, `href="`+ory.url+`/self-service/login/browser?aal=aal2"`)
		if ory.logout {
			wantBody(t, res, ory.url+"/self-service/logout?token=")
		}
	})

	stepUp()

	t.Run("aal2 browser /transfer shows the identity", func(t *testing.T) {
		res := get(t, c, app+"/transfer", "text/html", withCookie())
		wantStatus(t, res, http.StatusOK)
		wantText(t, res, "email", email)
		wantText(t, res, "who-email", email)
		wantText(t, res, "who-aal", "aal2")
		if ory.logout {
			wantBody(t, res, ory.url+"/self-service/logout?token=")
		}
	})
	t.Run("public page, aal2: signed in", func(t *testing.T) {
		res := get(t, c, app+"/", "text/html", withCookie())
		wantStatus(t, res, http.StatusOK)
		wantText(t, res, "who-email", email)
		wantText(t, res, "who-aal", "aal2")
		if strings.Contains(string(res.body), `id="email"`) {
			t.Errorf("the public page shows the guarded pages' identity card:\n%s", res.body)
		}
	})

	// The Ory session cookie is SameSite=Lax: a browser sends it with a form posted from a
	// sibling subdomain (same-site), so only the app's check of the request's origin stops it.
	foreign := "http://shop." + strings.TrimPrefix(app, "http://")
	for _, tc := range []struct {
		name   string
		header http.Header
		want   int
	}{
		{"cross-site POST /transfer is refused", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"same-site POST /transfer from a sibling subdomain is refused", http.Header{"Sec-Fetch-Site": {"same-site"}, "Origin": {foreign}}, http.StatusForbidden},
		{"cross-origin POST /transfer from a browser without Sec-Fetch-Site is refused", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"same-origin POST /transfer goes through", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {app}}, http.StatusOK},
	} {
		t.Run("aal2 browser: "+tc.name, func(t *testing.T) {
			h := withCookie()
			for k, v := range tc.header {
				h[k] = v
			}
			res := post(t, c, app+"/transfer", h)
			wantStatus(t, res, tc.want)
			if sent := strings.Contains(string(res.body), "Sent €42"); sent != (tc.want == http.StatusOK) {
				t.Errorf("the transfer handler ran: %v, want %v; body: %s", sent, tc.want == http.StatusOK, res.body)
			}
		})
	}
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

// post sends the transfer form (amount=42) as a browser would.
func post(t *testing.T, c *http.Client, url string, h http.Header) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader("amount=42"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
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

// wantText checks the text of the page's element with the given id.
func wantText(t *testing.T, res response, id, want string) {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindSubmatch(res.body)
	if m == nil {
		t.Errorf("%s %s: no element #%s:\n%s", res.Request.Method, res.Request.URL, id, res.body)
	} else if got := html.UnescapeString(string(m[1])); got != want {
		t.Errorf("%s %s: #%s is %q, want %q", res.Request.Method, res.Request.URL, id, got, want)
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
