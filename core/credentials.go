package core

import (
	"crypto/sha256"
	"strings"
)

// maxCredentialLen bounds a session token or cookie value. Real ones are a few hundred bytes;
// anything longer is refused without asking Ory.
const maxCredentialLen = 4096

// Credential is what identifies an Ory session: a session token, or the Ory session cookies.
// At most one of the two is set.
type Credential struct {
	// Token is a session token from X-Session-Token or Authorization: Bearer.
	Token string
	// Cookie holds only the Ory session cookies, as "name=value" pairs ready for a Cookie
	// header: the app's other cookies never leave the app.
	Cookie string
}

// IsZero reports whether the request carried no usable Ory credential.
func (c Credential) IsZero() bool { return c.Token == "" && c.Cookie == "" }

// Key is a hash of the credential, for caches and call coalescing: the raw secret is never
// used as a map key, and a token never collides with a cookie of the same text.
func (c Credential) Key() [32]byte {
	if c.Token != "" {
		return sha256.Sum256([]byte("t:" + c.Token))
	}
	return sha256.Sum256([]byte("c:" + c.Cookie))
}

// OryCookies keeps only the Ory session cookies (ory_kratos_session and Ory Network's
// ory_session_<slug>) of a Cookie header, for apps that call Ory themselves, e.g. to create a
// logout flow: the app's other cookies should not leave the app.
func OryCookies(cookieHeader string) string {
	return defaultCredentialNames.oryCookies(cookieHeader)
}

var defaultCredentialNames = credentialNames{
	cookieNames:    []string{"ory_kratos_session"},
	cookiePrefixes: []string{"ory_session_"},
}

// credentialNames says which cookies and headers carry the Ory session.
type credentialNames struct {
	cookieNames    []string
	cookiePrefixes []string
	bearer         bool
}

// extract reads the credential from the request facts. A session token wins over cookies:
// Ory does the same, and an API client sending both means the token. Malformed values are
// dropped, so they end up as "no session" instead of an error from the HTTP client.
func (n credentialNames) extract(r *Request) Credential {
	if tok := strings.TrimSpace(r.SessionToken); validToken(tok) {
		return Credential{Token: tok}
	}
	if n.bearer {
		if tok, ok := bearerToken(r.Authorization); ok {
			return Credential{Token: tok}
		}
	}
	return Credential{Cookie: n.oryCookies(r.Cookie)}
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header.
func bearerToken(h string) (string, bool) {
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	tok := strings.TrimSpace(h[len(prefix):])
	return tok, validToken(tok)
}

// oryCookies keeps the Ory session cookies of a Cookie header. With one match (the usual case)
// it returns a slice of the header itself, so the hot path does not allocate.
func (n credentialNames) oryCookies(header string) string {
	var (
		first string
		out   []string
	)
	for part := range strings.SplitSeq(header, ";") {
		part = strings.TrimSpace(part)
		name, value, ok := strings.Cut(part, "=")
		if !ok || !n.isOryCookie(name) || !validCookieValue(value) {
			continue
		}
		switch {
		case first == "":
			first = part
		case out == nil:
			out = []string{first, part}
		default:
			out = append(out, part)
		}
	}
	if out != nil {
		return strings.Join(out, "; ")
	}
	return first
}

func (n credentialNames) isOryCookie(name string) bool {
	for _, c := range n.cookieNames {
		if name == c {
			return true
		}
	}
	for _, p := range n.cookiePrefixes {
		if len(name) > len(p) && strings.HasPrefix(name, p) && validCookieName(name) {
			return true
		}
	}
	return false
}

// validToken accepts visible ASCII only: a token goes into a header sent to Ory.
func validToken(s string) bool {
	if s == "" || len(s) > maxCredentialLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// validCookieValue follows RFC 6265's cookie-octet, with optional surrounding quotes.
func validCookieValue(v string) bool {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if v == "" || len(v) > maxCredentialLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}

// validCookieName accepts an RFC 7230 token.
func validCookieName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}
