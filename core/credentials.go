package core

import (
	"hash/maphash"
	"strings"
)

// maxCredentialLen bounds a session token or cookie value. Real ones are a few hundred bytes;
// anything longer is refused without asking Ory.
const maxCredentialLen = 4096

// credential is what identifies an Ory session: a session token, or the Ory session cookies
// ("name=value" pairs ready for a Cookie header: the app's other cookies never leave the
// app). At most one of the two is set. As extracted it is not validated yet: a cache hit
// proves it equal to one that was, and only a miss pays for checking every byte.
type credential struct {
	token  string
	cookie string
}

// isZero reports whether the request carried no Ory credential.
func (c credential) isZero() bool { return c.token == "" && c.cookie == "" }

// credKind is what carried a request's credential, which decides how a denial is answered:
// a session token is an API client's.
type credKind uint8

const (
	noCredential credKind = iota
	byCookie
	byToken
)

// kind says what carried the credential.
func (c credential) kind() credKind {
	switch {
	case c.token != "":
		return byToken
	case c.cookie != "":
		return byCookie
	}
	return noCredential
}

// sanitized returns the credential as it may be sent to Ory: a token of visible ASCII only,
// cookies with valid values only. ok is false when nothing usable is left, which means "no
// session" without asking Ory.
func (c credential) sanitized() (_ credential, ok bool) {
	if c.token != "" {
		return c, validToken(c.token)
	}
	var kept []string
	for part := range strings.SplitSeq(c.cookie, "; ") {
		if _, value, _ := strings.Cut(part, "="); validCookieValue(value) {
			kept = append(kept, part)
		}
	}
	if len(kept) == 1 {
		return credential{cookie: kept[0]}, true // a slice of the original: no copy
	}
	return credential{cookie: strings.Join(kept, "; ")}, len(kept) > 0
}

// credKey identifies a credential in the cache and among shared whoami calls, without keeping
// the credential itself: a 128-bit keyed hash (two hash/maphash passes with seeds random per
// process). Keyed, so nobody outside can aim at a collision; 128 bits, so that not even years
// of guessing against 100,000 cached sessions hit another user's entry by chance (one 64-bit
// pass would leave that at about one in ten thousand a year at 10,000 requests a second).
// Every request pays for the key, cached or not: two maphash passes over a 430-byte cookie
// cost about a tenth of SHA-256. Keeping the raw credential in the entry and comparing it on
// a hit would save one pass, but would hold every cached session's secret in memory.
type credKey struct{ hi, lo uint64 }

// Seeds for tokens and cookies differ, so a token never collides with a cookie of the same
// text.
var keySeeds = [4]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed(), maphash.MakeSeed(), maphash.MakeSeed()}

// key hashes the credential as extracted.
func (c credential) key() credKey {
	if c.token != "" {
		return credKey{maphash.String(keySeeds[0], c.token), maphash.String(keySeeds[1], c.token)}
	}
	return credKey{maphash.String(keySeeds[2], c.cookie), maphash.String(keySeeds[3], c.cookie)}
}

// hash32 picks the cache bucket.
func (k credKey) hash32() uint32 { return uint32(k.lo) }

// callKey names the shared whoami call for a credential; fresh calls (the re-check before a
// denial) never share with calls that may answer from the cache.
func (k credKey) callKey(fresh bool) string {
	var b [17]byte
	for i := range 8 {
		b[i] = byte(k.hi >> (8 * i))
		b[8+i] = byte(k.lo >> (8 * i))
	}
	if fresh {
		b[16] = 'f'
	}
	return string(b[:])
}

// OryCookies keeps only the Ory session cookies (ory_kratos_session and Ory Network's
// ory_session_<slug>) with valid values of a Cookie header, for apps that call Ory themselves,
// e.g. to create a logout flow: the app's other cookies should not leave the app.
func OryCookies(cookieHeader string) string {
	cookies, _ := defaultCredentialNames.oryCookies(cookieHeader, "", 0)
	c, _ := credential{cookie: cookies}.sanitized()
	return c.cookie
}

var defaultCredentialNames = credentialNames{
	cookieNames:    []string{"ory_kratos_session"},
	cookiePrefixes: []string{"ory_session_"},
	needle:         "ory_",
}

// credentialNames says which cookies and headers carry the Ory session.
type credentialNames struct {
	cookieNames    []string
	cookiePrefixes []string
	bearer         bool
	needle         string // the prefix every name shares, checked first (see oryCookies)
}

// extract reads the credential from the request facts in Kratos v1.3.1's order (its
// extractToken): X-Session-Token, then the Ory session cookie, then Authorization: Bearer.
// Each one that is present wins over the next even when it is invalid (then Ory is not
// asked): a request with a cookie of one user and a bearer token of another gets the
// cookie's user, as it would from Ory itself.
func (n credentialNames) extract(r *Request) credential {
	// ASCII white space only, as net/http trims header values: a token of other bytes is the
	// client's, and reaches Ory whole (or, if invalid, not at all).
	if tok := trimASCIISpace(r.SessionToken); tok != "" {
		return credential{token: tok}
	}
	cookie, found := n.oryCookies(r.Cookie, "", 0)
	for _, h := range r.MoreCookies {
		cookie, found = n.oryCookies(h, cookie, found)
	}
	if found == 0 && n.bearer {
		if tok := bearerToken(r.Authorization); tok != "" {
			return credential{token: tok}
		}
	}
	return credential{cookie: cookie}
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header.
func bearerToken(h string) string {
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return ""
	}
	return trimASCIISpace(h[len(prefix):])
}

// maxOryCookies bounds how many Ory cookies are collected from one request (real ones carry
// one or two), so a hostile megabyte of ory_session_x=y pairs costs no more than a few.
const maxOryCookies = 8

// oryCookies appends the Ory session cookies of a Cookie header to cookies ("; "-separated),
// found of them so far. With one match (the usual case) it returns a slice of the header
// itself: no copy. It splits cookies as net/http does (";", ASCII white space trimmed). The
// app's own cookies are most of a browser's Cookie header: when every Ory name shares a
// prefix ("ory_"), the search jumps from one occurrence of it to the next, and an occurrence
// starts a cookie only where nothing but white space stands between it and the previous ';'
// (or the header's start); otherwise (an "ory_" inside a value) it is passed over.
func (n credentialNames) oryCookies(header, cookies string, found int) (string, int) {
	for pos := 0; pos < len(header) && found < maxOryCookies; {
		start := pos
		if n.needle != "" {
			i := strings.Index(header[pos:], n.needle)
			if i < 0 {
				break
			}
			start = pos + i
			if !cookieStart(header, start) {
				pos = start + 1
				continue
			}
		}
		end := len(header)
		if k := strings.IndexByte(header[start:], ';'); k >= 0 {
			end = start + k
		}
		pos = end + 1
		part := trimASCIISpace(header[start:end])
		name, _, ok := strings.Cut(part, "=")
		if !ok || !n.isOryCookie(name) {
			continue
		}
		if found == 0 {
			cookies = part
		} else {
			cookies += "; " + part
		}
		found++
	}
	return cookies, found
}

// cookieStart reports whether a cookie starts at header[i]: only white space stands between
// it and the previous ';' or the header's start.
func cookieStart(header string, i int) bool {
	for i > 0 && isASCIISpace(header[i-1]) {
		i--
	}
	return i == 0 || header[i-1] == ';'
}

// commonPrefix is the prefix every Ory cookie name starts with ("" if none worth searching).
func commonPrefix(names, prefixes []string) string {
	all := append(append([]string(nil), names...), prefixes...)
	if len(all) == 0 {
		return ""
	}
	p := all[0]
	for _, s := range all[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	if len(p) < 2 {
		return ""
	}
	return p
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// trimASCIISpace trims ASCII white space, as net/textproto does for header values.
func trimASCIISpace(s string) string {
	for s != "" && isASCIISpace(s[0]) {
		s = s[1:]
	}
	for s != "" && isASCIISpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
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
