package core

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCredentials: whatever the headers, only Ory session cookies with valid values and
// header-safe tokens come out, so nothing else can reach Ory and no header can be injected.
func FuzzCredentials(f *testing.F) {
	f.Add("theme=dark; ory_kratos_session=abc", "", "")
	f.Add("ory_session_slug=x;ory_kratos_session=\"q\"", "", "Bearer t")
	f.Add(";;=;ory_kratos_session=;", "tok\r\nX: y", "bearer ")
	f.Add("ory_session_a\x00=b", " ", "Bearer \x7f")
	names := credentialNames{cookieNames: []string{"ory_kratos_session"}, cookiePrefixes: []string{"ory_session_"}, bearer: true}
	f.Fuzz(func(t *testing.T, cookie, token, authz string) {
		c, ok := names.extract(&Request{Cookie: cookie, SessionToken: token, Authorization: authz}).sanitized()
		if !ok {
			return
		}
		if c.token != "" && c.cookie != "" {
			t.Fatal("both a token and cookies")
		}
		if c.token != "" && !validToken(c.token) {
			t.Fatalf("invalid token %q", c.token)
		}
		if c.cookie == "" {
			return
		}
		for part := range strings.SplitSeq(c.cookie, "; ") {
			name, value, ok := strings.Cut(part, "=")
			if !ok || !names.isOryCookie(name) || !validCookieValue(value) {
				t.Fatalf("forwarded %q from %q", part, cookie)
			}
		}
	})
}

// FuzzReturnTo: return_to is empty or an absolute http(s) URL on the expected host (the
// configured origin, or the validated Host), never with user info or a fragment.
func FuzzReturnTo(f *testing.F) {
	f.Add("app.example", "/a?b=c", "", "", false)
	f.Add("evil/@x", "http://evil/x", "evil2", "javascript", true)
	f.Add("[::1]:80", "//x/y#z", "a,b", "https", true)
	f.Add("app", "/%zz", "", "", false)
	f.Fuzz(func(t *testing.T, host, uri, fwdHost, fwdProto string, trust bool) {
		for _, appURL := range []string{"", "https://shop.example:8443"} {
			v := MustNew(Config{SDKURL: "http://ory", AppURL: appURL, TrustForwardedHeaders: trust})
			got := v.returnTo(&Request{Host: host, URI: uri, ForwardedHost: fwdHost, ForwardedProto: fwdProto})
			if got == "" {
				continue
			}
			u, err := url.Parse(got)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Fragment != "" || u.Opaque != "" {
				t.Fatalf("returnTo(%q, %q) = %q", host, uri, got)
			}
			switch {
			case appURL != "":
				if u.Host != "shop.example:8443" {
					t.Fatalf("configured origin not used: %q", got)
				}
			case trust && firstValue(fwdHost) != "":
				if u.Host != firstValue(fwdHost) {
					t.Fatalf("host %q, want forwarded %q", u.Host, fwdHost)
				}
			default:
				if u.Host != host {
					t.Fatalf("host %q, want %q", u.Host, host)
				}
			}
		}
	})
}
