package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"

	"github.com/orymfa/orymfa/internal/kratostest"
)

// What users send, the same shapes as every adapter's in-process benchmark: a browser
// navigation with Kratos's session cookie among the app's own cookies, or an API call with a
// session token.
const (
	credCookie = "cookie"
	credToken  = "token"

	// acceptBrowser is what a browser sends for a navigation.
	acceptBrowser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	acceptAPI     = "application/json"
)

// browserCookies is a browser's Cookie header on an app behind Ory: analytics, preference,
// CSRF and app-session cookies around the Ory session cookie name=value (five app cookies, as
// in the adapters' benchmarks).
func browserCookies(name, value string) string {
	return "_ga=GA1.1.2094823482.1732451234; theme=dark; csrf_token=Zk9tYjN2cUlPd2R0a1pQb0F3d0lUbmFqRkZ5a3hJbWU; " +
		name + "=" + value + "; app_session=6f1c2b0e9a7d4c3b8e5f1a2d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b; lang=en-GB"
}

// credential is one session as a client presents it: Kratos's browser cookie or a session
// token, with the Accept header that goes with it.
type credential struct {
	kind  string // credCookie or credToken
	value string // the ory_kratos_session cookie's value, or the ory_st_ token
}

// header returns the request headers carrying c.
func (c credential) header() http.Header {
	h := http.Header{}
	c.set(h)
	return h
}

// set puts c's headers into h.
func (c credential) set(h http.Header) {
	switch c.kind {
	case credCookie:
		h.Set("Cookie", browserCookies(kratostest.SessionCookieName, c.value))
		h.Set("Accept", acceptBrowser)
	case credToken:
		h.Set("X-Session-Token", c.value)
		h.Set("Accept", acceptAPI)
	}
}

// checkKind refuses anything but cookie and token.
func checkKind(kind string) error {
	if kind != credCookie && kind != credToken {
		return fmt.Errorf("-credential must be %s or %s, not %q", credCookie, credToken, kind)
	}
	return nil
}

// newSessions registers n users on the TOTP project p and enrolls TOTP for each (Kratos
// upgrades the session to aal2 in place), as browsers (kind cookie: Kratos's real
// ory_kratos_session cookie) or API clients (kind token: ory_st_ session tokens). It checks
// that whoami says aal2 for each and returns the sessions and the last whoami body (a real
// Kratos aal2 session document, for the memory measurement).
func newSessions(ctx context.Context, p *kratostest.Project, kind string, n int) ([]credential, []byte, error) {
	creds := make([]credential, n)
	var body []byte
	for i := range creds {
		var (
			status int
			err    error
		)
		switch kind {
		case credCookie:
			b := p.NewBrowser()
			if err = b.Register(ctx, kratostest.NewEmail(), kratostest.Password); err != nil {
				return nil, nil, err
			}
			if _, err = b.EnrollTOTP(ctx); err != nil {
				return nil, nil, err
			}
			c := b.SessionCookie()
			if c == nil {
				return nil, nil, fmt.Errorf("browser %d holds no %s cookie after TOTP enrollment", i, kratostest.SessionCookieName)
			}
			creds[i] = credential{kind: credCookie, value: c.Value}
			status, body, err = p.WhoamiCookie(ctx, c)
		case credToken:
			var token string
			if token, err = p.RegisterAPI(ctx, kratostest.NewEmail(), kratostest.Password); err != nil {
				return nil, nil, err
			}
			if _, err = p.EnrollTOTPAPI(ctx, token); err != nil {
				return nil, nil, err
			}
			creds[i] = credential{kind: credToken, value: token}
			status, body, err = p.Whoami(ctx, token)
		default:
			return nil, nil, checkKind(kind)
		}
		if err != nil {
			return nil, nil, err
		}
		if aal := kratostest.AAL(body); status != http.StatusOK || aal != "aal2" {
			return nil, nil, fmt.Errorf("%s session after TOTP enrollment: whoami %d, aal %q; want 200 aal2", kind, status, aal)
		}
	}
	return creds, body, nil
}

// tokenAlphabet is what Kratos's session tokens are made of (ory_st_ and 32 of these).
const tokenAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomToken returns a Kratos-shaped session token (39 bytes) that no session has.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return "ory_st_" + string(b[:])
}
