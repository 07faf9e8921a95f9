package orymfatest_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	orymfa "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
)

// get fetches u as a browser navigation, following redirects, and returns the final URL,
// status and body.
func get(t *testing.T, c *http.Client, u string) (string, int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.Request.URL.String(), res.StatusCode, string(b)
}

var returnLink = regexp.MustCompile(`<a id="return" href="([^"]+)"`)

// A browser follows the middleware to the kit's page and back, as it would through Ory's UI.
func TestBrowserRoundTrip(t *testing.T) {
	srv := orymfatest.NewServer(t)
	app := httptest.NewServer(orymfa.RequireAAL2(orymfa.WithVerifier(verifier(t, srv)))(newProbe()))
	t.Cleanup(app.Close)

	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	jar, _ := cookiejar.New(nil)
	appURL, _ := url.Parse(app.URL)
	jar.SetCookies(appURL, []*http.Cookie{srv.Cookie(token)})
	browser := &http.Client{Jar: jar}

	final, status, page := get(t, browser, app.URL+"/account?tab=keys")
	if status != 200 || !strings.HasPrefix(final, srv.URL+"/self-service/login/browser?") {
		t.Fatalf("ended at %s (%d)", final, status)
	}
	flows := srv.Flows()
	want := orymfatest.Flow{Path: "/self-service/login/browser", AAL: "aal2", ReturnTo: app.URL + "/account?tab=keys"}
	if len(flows) != 1 || flows[0].Path != want.Path || flows[0].AAL != want.AAL || flows[0].Refresh || flows[0].ReturnTo != want.ReturnTo ||
		flows[0].Query.Get("aal") != "aal2" {
		t.Fatalf("Flows: %+v, want %+v", flows, want)
	}
	m := returnLink.FindStringSubmatch(page)
	if m == nil || html.UnescapeString(m[1]) != want.ReturnTo || !strings.Contains(page, "Prove your second factor") {
		t.Fatalf("page:\n%s", page)
	}

	// The user proves TOTP in "Ory" and follows the link back.
	srv.StepUp(token)
	final, status, page = get(t, browser, html.UnescapeString(m[1]))
	if status != 200 || final != want.ReturnTo || !strings.Contains(page, "(aal2)") {
		t.Fatalf("back at %s: %d %s", final, status, page)
	}
}

func TestFlowPages(t *testing.T) {
	srv := orymfatest.NewServer(t)
	for _, tc := range []struct {
		query, path, title string
		refresh            bool
	}{
		{"/self-service/login/browser?return_to=http%3A%2F%2Fapp.test%2F", "/self-service/login/browser", "Sign in", false},
		{"/self-service/login/browser?refresh=true&aal=aal2&return_to=http%3A%2F%2Fapp.test%2F", "/self-service/login/browser", "Confirm it is you", true},
		{"/self-service/settings/browser?return_to=http%3A%2F%2Fapp.test%2F", "/self-service/settings/browser", "Set up a second factor", false},
	} {
		_, status, page := get(t, http.DefaultClient, srv.URL+tc.query)
		flows := srv.Flows()
		f := flows[len(flows)-1]
		if status != 200 || !strings.Contains(page, tc.title) || f.Path != tc.path || f.Refresh != tc.refresh || f.ReturnTo != "http://app.test/" {
			t.Errorf("%s: %d %+v\n%s", tc.query, status, f, page)
		}
	}
	// Escaped, and no javascript: link.
	_, _, page := get(t, http.DefaultClient, srv.URL+"/self-service/login/browser?return_to="+url.QueryEscape(`javascript:alert("<x>")`))
	if strings.Contains(page, "<x>") || strings.Contains(page, `href="javascript:`) {
		t.Fatalf("unsafe page:\n%s", page)
	}
	if srv.Calls() != 0 {
		t.Fatal("browser pages counted as whoami calls")
	}
}
