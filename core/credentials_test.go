package core

import (
	"strings"
	"testing"
)

// TestCredentials: what is taken from a request and what of it may be sent to Ory.
func TestCredentials(t *testing.T) {
	names := credentialNames{cookieNames: []string{"ory_kratos_session"}, cookiePrefixes: []string{"ory_session_"}, bearer: true}
	for _, tc := range []struct {
		name string
		req  Request
		sent credential // what Ory receives
		ok   bool       // false: no session, Ory is not asked
	}{
		{"only the Ory cookie is kept", Request{Cookie: "theme=dark; ory_kratos_session=abc; csrf=x"}, credential{cookie: "ory_kratos_session=abc"}, true},
		{"Ory Network cookie", Request{Cookie: "a=b;ory_session_myslug=v1"}, credential{cookie: "ory_session_myslug=v1"}, true},
		{"several Ory cookies", Request{Cookie: "ory_kratos_session=a; x=y; ory_session_s=b"}, credential{cookie: "ory_kratos_session=a; ory_session_s=b"}, true},
		{"several Cookie headers (HTTP/2)", Request{Cookie: "x=y", MoreCookies: []string{"ory_kratos_session=a", "z=1"}}, credential{cookie: "ory_kratos_session=a"}, true},
		{"a prefix alone is not a name", Request{Cookie: "ory_session_=v"}, credential{}, false},
		{"a name that only ends like one", Request{Cookie: "xory_kratos_session=v"}, credential{}, false},
		{"an Ory name inside another cookie's value", Request{Cookie: "a=ory_kratos_session=evil; b=x ory_kratos_session=evil2"}, credential{}, false},
		{"white space and tabs before the name", Request{Cookie: "a=ory_x;  \t ory_kratos_session=v; ory_"}, credential{cookie: "ory_kratos_session=v"}, true},
		{"after an occurrence passed over", Request{Cookie: "a=ory_ory_x;ory_kratos_session=v"}, credential{cookie: "ory_kratos_session=v"}, true},
		{"malformed value dropped", Request{Cookie: `ory_kratos_session="a b"; ory_kratos_session=ok`}, credential{cookie: "ory_kratos_session=ok"}, true},
		{"only malformed values", Request{Cookie: `ory_kratos_session=a\b`}, credential{}, false},
		{"quoted value kept", Request{Cookie: `ory_kratos_session="ok"`}, credential{cookie: `ory_kratos_session="ok"`}, true},
		{"X-Session-Token wins", Request{SessionToken: "tok", Cookie: "ory_kratos_session=abc"}, credential{token: "tok"}, true},
		{"Bearer, as RFC 6750 spells it", Request{Authorization: "Bearer ory_st_abc"}, credential{token: "ory_st_abc"}, true},
		{"bearer in any case, spaces trimmed", Request{Authorization: "bEaReR  tok2 "}, credential{token: "tok2"}, true},
		{"X-Session-Token wins over Bearer", Request{SessionToken: "a", Authorization: "Bearer b"}, credential{token: "a"}, true},
		// Kratos v1.3.1 reads the cookie before Bearer: with user A's bearer token and user
		// B's cookie it answers for B.
		{"the Ory cookie wins over Bearer", Request{Authorization: "Bearer a", Cookie: "ory_kratos_session=b"}, credential{cookie: "ory_kratos_session=b"}, true},
		{"in any Cookie header", Request{Authorization: "Bearer a", Cookie: "x=y", MoreCookies: []string{"ory_session_s=b"}}, credential{cookie: "ory_session_s=b"}, true},
		{"an invalid Ory cookie wins over Bearer too", Request{Authorization: "Bearer a", Cookie: `ory_kratos_session=a\b`}, credential{}, false},
		{"the app's cookies do not hide Bearer", Request{Authorization: "Bearer a", Cookie: "theme=dark; ory_x=1"}, credential{token: "a"}, true},
		{"basic auth is not a token", Request{Authorization: "Basic dXNlcg=="}, credential{}, false},
		{"token with a control character", Request{SessionToken: "a\x01b"}, credential{token: "a\x01b"}, false},
		{"token with a header injection", Request{SessionToken: "a\r\nX-Evil: 1"}, credential{token: "a\r\nX-Evil: 1"}, false},
		{"oversized token", Request{SessionToken: strings.Repeat("t", maxCredentialLen+1)}, credential{token: strings.Repeat("t", maxCredentialLen+1)}, false},
	} {
		// With the names' common prefix (the search jumps between its occurrences) and
		// without one (every cookie is looked at).
		withNeedle := names
		withNeedle.needle = commonPrefix(names.cookieNames, names.cookiePrefixes)
		for _, n := range []credentialNames{names, withNeedle} {
			t.Run(tc.name+"/needle="+n.needle, func(t *testing.T) {
				got, ok := n.extract(&tc.req).sanitized()
				if ok != tc.ok || (ok && got != tc.sent) {
					t.Fatalf("got %+v %v, want %+v %v", got, ok, tc.sent, tc.ok)
				}
			})
		}
	}
	if got := OryCookies("theme=dark; ory_session_slug=a; csrf=b"); got != "ory_session_slug=a" {
		t.Fatalf("OryCookies = %q", got)
	}
	off := names
	off.bearer = false
	if got := off.extract(&Request{Authorization: "Bearer tok"}); !got.isZero() {
		t.Fatalf("DisableBearer still read %+v", got)
	}
}

// A hostile megabyte of Ory-looking cookies costs no more than a few.
func TestManyOryCookiesAreBounded(t *testing.T) {
	names := defaultCredentialNames
	header := strings.Repeat("ory_session_x=y; ", 60_000)
	c := names.extract(&Request{Cookie: header})
	if n := strings.Count(c.cookie, "; ") + 1; n != maxOryCookies {
		t.Fatalf("collected %d Ory cookies, want the bound %d", n, maxOryCookies)
	}
}

// Keys: equal credentials share a key, a token and a cookie of the same text do not, and
// different credentials (here, ten thousand of them) never collide.
func TestCredentialKeys(t *testing.T) {
	tok, cookie := credential{token: "ory_kratos_session=abc"}, credential{cookie: "ory_kratos_session=abc"}
	if tok.key() == cookie.key() {
		t.Fatal("a token and a cookie of the same text share a key")
	}
	if tok.key() != (credential{token: strings.Clone(tok.token)}).key() {
		t.Fatal("equal tokens have different keys")
	}
	if tok.key().callKey(true) == tok.key().callKey(false) {
		t.Fatal("fresh and cached calls share a name")
	}
	seen := map[credKey]bool{}
	for i := range 10_000 {
		k := credential{token: "ory_st_" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)}.key()
		if seen[k] {
			t.Fatalf("collision at %d", i)
		}
		seen[k] = true
	}
}
