package kratostest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// Browser runs browser flows (/self-service/…/browser) the way a single-page app does: JSON
// with Accept: application/json, a cookie jar for the session and CSRF cookies, and the
// csrf_token from each flow's UI nodes.
type Browser struct {
	// Client keeps the cookies. Redirects are followed only within Kratos's public URL, so a
	// redirect to an app or a UI URL comes back as the response instead.
	Client *http.Client

	p      *Project
	public *url.URL
}

// NewBrowser returns a browser with an empty cookie jar.
func (p *Project) NewBrowser() *Browser {
	public, err := url.Parse(p.PublicURL)
	if err != nil {
		panic(fmt.Sprintf("kratostest: public URL %q: %v", p.PublicURL, err)) // set by Start
	}
	jar, _ := cookiejar.New(nil) // never fails without options
	b := &Browser{p: p, public: public}
	b.Client = &http.Client{
		Transport: ownTransport(),
		Jar:       jar,
		Timeout:   30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != public.Host || len(via) >= 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	return b
}

func (b *Browser) initFlow(ctx context.Context, path string) (*flow, error) {
	kind, query, _ := strings.Cut(path, "?")
	u := b.p.PublicURL + "/self-service/" + kind + "/browser"
	if query != "" {
		u += "?" + query
	}
	status, body, err := request(ctx, b.Client, http.MethodGet, u, nil, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, statusError("init "+path+" browser flow", status, body)
	}
	return decodeFlow("init "+path+" browser flow", status, body)
}

func (b *Browser) submit(ctx context.Context, f *flow, body map[string]any) (int, []byte, error) {
	body["csrf_token"] = f.inputValue("csrf_token")
	return request(ctx, b.Client, http.MethodPost, f.UI.Action, nil, body)
}

// Register creates an identity with a password; the browser then holds an aal1 session.
func (b *Browser) Register(ctx context.Context, email, password string) error {
	_, err := register(ctx, b, email, password)
	return err
}

// Login logs in with a password. For a user with a second factor Kratos answers 422
// browser_location_change_required with the aal1 session cookie already set; Login accepts
// that and returns the aal2 login URL Kratos pointed at (stepUp), which is "" otherwise.
func (b *Browser) Login(ctx context.Context, email, password string) (stepUp string, err error) {
	status, body, err := loginPassword(ctx, b, email, password)
	if err != nil {
		return "", err
	}
	switch {
	case status == http.StatusOK:
		return "", nil
	case status == http.StatusUnprocessableEntity && ErrorID(body) == "browser_location_change_required":
		var e Error
		_ = json.Unmarshal(body, &e)
		if b.SessionCookie() == nil {
			return "", errors.New("kratostest: login answered browser_location_change_required without a session cookie")
		}
		return e.RedirectBrowserTo, nil
	default:
		return "", statusError("browser login", status, body)
	}
}

// StepUpCode proves the second factor with a one-time code emailed to email (CodeMFA). The
// session cookie's value changes.
func (b *Browser) StepUpCode(ctx context.Context, email string) error {
	return b.p.loginCode(ctx, b, "login?aal=aal2", email)
}

// RefreshCode proves the code factor again on an aal2 session.
func (b *Browser) RefreshCode(ctx context.Context, email string) error {
	return b.p.loginCode(ctx, b, "login?refresh=true&aal=aal2", email)
}

// StepUpTOTP proves the second factor with a TOTP code for secret (TOTP projects).
func (b *Browser) StepUpTOTP(ctx context.Context, secret string) error {
	return loginTOTP(ctx, b, "login?aal=aal2", secret)
}

// RefreshTOTP proves TOTP again on an aal2 session.
func (b *Browser) RefreshTOTP(ctx context.Context, secret string) error {
	return loginTOTP(ctx, b, "login?refresh=true&aal=aal2", secret)
}

// EnrollTOTP sets up TOTP in the settings flow and returns the secret. As with the API flow,
// the browser's session is aal2 right after.
func (b *Browser) EnrollTOTP(ctx context.Context) (string, error) {
	return enrollTOTP(ctx, b)
}

// SessionCookie returns the ory_kratos_session cookie the jar holds for the public URL, or nil.
// Kratos scopes it to the public URL's host; tests send it to their own app themselves.
func (b *Browser) SessionCookie() *http.Cookie {
	for _, c := range b.Client.Jar.Cookies(b.public) {
		if c.Name == SessionCookieName {
			return c
		}
	}
	return nil
}

// Whoami asks Kratos about the browser's session with its cookies.
func (b *Browser) Whoami(ctx context.Context) (int, []byte, error) {
	return request(ctx, b.Client, http.MethodGet, b.p.PublicURL+"/sessions/whoami", nil, nil)
}
