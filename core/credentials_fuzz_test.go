package core_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/orymfa/orymfa/core"
)

// FuzzCredentials fuzzes the credential headers (one or two Cookie headers, X-Session-Token,
// Authorization) of a request to a guard and records what whoami received. The oracle is a
// parser of its own, written from the specifications:
//
//   - header values are taken as a server delivers them (surrounding SP and HTAB stripped);
//   - X-Session-Token, trimmed of ASCII white space, is the credential when not empty; else
//     the Ory cookies when any is present (Kratos v1.3.1 reads its cookie before Bearer);
//     else "Authorization: Bearer <token>" (RFC 7235: the scheme in any case, one or more
//     SP); a token is valid when it is 1–4096 visible ASCII bytes (0x21–0x7e);
//   - each wins over the next even when invalid (then nothing is sent);
//   - cookies: each Cookie header split on ';', each pair trimmed of ASCII white space,
//     name=value with no space around '=' (RFC 6265 cookie-pair); an Ory cookie is
//     ory_kratos_session or ory_session_<token chars>, valid when its value is 1–4096
//     RFC 6265 cookie-octets, optionally in double quotes;
//   - whoami gets exactly the credential: the token alone in X-Session-Token, or the valid
//     Ory cookies alone, in order, "; "-joined, in one Cookie header; never Authorization,
//     never an app cookie, never an invalid byte; and when nothing valid is present Ory is
//     not asked at all. More than 8 Ory-named cookies may be cut short (a documented bound
//     on hostile headers), so then only "a subset, in order" is required.
//
// Ory answers 401, which is never cached, so one verifier serves every execution.
func FuzzCredentials(f *testing.F) {
	type seed struct {
		cookie, cookie2, token, authz string
		flags                         uint8
	}
	long := strings.Repeat("A", 4096)
	seeds := []seed{
		{cookie: "theme=dark; ory_kratos_session=MTc0NTk5fGFiYw==; csrf_token_806=xyz"},
		{cookie: "ory_session_myslug=abc123; _ga=GA1.1.2"},
		{cookie: "ory_session_a=1; ory_session_b=2;ory_kratos_session=3"},
		{cookie: "ory_kratos_session=first; ory_kratos_session=second"},
		{cookie: "ory_kratos_session=a", cookie2: "ory_kratos_session=b; other=c", flags: 1},
		{cookie: "other=1", cookie2: "ory_session_x=y", flags: 1},
		{cookie: `ory_kratos_session="quoted"`},
		{cookie: `ory_kratos_session="half`},
		{cookie: `ory_kratos_session=""`},
		{cookie: `ory_kratos_session=`},
		{cookie: "ory_kratos_session"},
		{cookie: "ory_kratos_session =x; ory_kratos_session= y"},
		{cookie: "ory_kratos_session=a b; ory_kratos_session=c,d; ory_kratos_session=e\\f"},
		{cookie: "\tory_kratos_session=tab\t;  ory_session_s=sp  "},
		{cookie: "ory_session_=x; ory_session_a/b=x; ory_session_a@b=x; ORY_KRATOS_SESSION=x"},
		{cookie: "x=ory_kratos_session=abc; ory_kratos_session_x=1; ory_=2"},
		{cookie: "ory_kratos_session=\xc3\xa9; ory_kratos_session=\x00; ory_kratos_session=ok"},
		{cookie: strings.Repeat("ory_session_a=1; ", 9) + "ory_kratos_session=late"},
		{cookie: strings.Repeat(`ory_session_a="bad value"; `, 8) + "ory_kratos_session=late"},
		{cookie: "ory_kratos_session=" + long},
		{cookie: "ory_kratos_session=" + long + "A"},
		{cookie: ";;=;ory_kratos_session=;"},
		// X-Session-Token wins over cookies, and cookies over Bearer.
		{cookie: "ory_kratos_session=c", token: "ory_st_abc"},
		{cookie: "ory_kratos_session=c", token: "tok\r\nX-Evil: 1"},
		{cookie: "ory_kratos_session=c", token: "  spaced  "},
		{cookie: "ory_kratos_session=c", token: "a b"},
		{cookie: "ory_kratos_session=c", token: "\xc2\xa0"},
		{token: "\xc2\x85tok\xc2\x85"},
		{token: long},
		{token: long + "A"},
		{cookie: "ory_kratos_session=c", authz: "Bearer ory_st_abc"},
		{authz: "bearer ory_st_abc"},
		{authz: "BEARER   ory_st_abc  "},
		{authz: "Bearer\tory_st_abc"},
		{authz: "Bearer a b"},
		{authz: "Bearer "},
		{authz: "Bearer"},
		{authz: "Basic dXNlcjpwYXNz", cookie: "ory_kratos_session=c"},
		{authz: "Bearer ory_st_abc", flags: 2}, // bearer disabled
		{authz: "Bearer ory_st_abc", cookie: "ory_kratos_session=c", flags: 2},
		{authz: "Bearer \xc2\xa0", cookie: "ory_kratos_session=c"},
		{token: "t", authz: "Bearer b"},
	}
	for _, s := range seeds {
		f.Add(s.cookie, s.cookie2, s.token, s.authz, s.flags)
	}

	o := &fuzzOry{answer: answer401}
	guards := [2]*core.Guard{}
	for i, disable := range []bool{false, true} {
		v := newFuzzVerifier(f, o, core.Config{AppURL: "https://app.example", DisableBearer: disable})
		guards[i] = core.MustGuard(core.RequireSession, core.WithVerifier(v))
	}
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, cookie, cookie2, token, authz string, flags uint8) {
		// As a server hands them over: surrounding SP and HTAB are not part of a header value.
		server := func(s string) string { return strings.Trim(s, " \t") }
		r := core.Request{
			Cookie:        server(cookie),
			SessionToken:  server(token),
			Authorization: server(authz),
			Method:        http.MethodGet,
			URI:           "/x",
			Host:          "app.example",
			Accept:        "application/json",
		}
		cookies := []string{r.Cookie}
		if flags&1 != 0 {
			r.MoreCookies = []string{server(cookie2)}
			cookies = append(cookies, r.MoreCookies[0])
		}
		bearer := flags&2 == 0
		want := expectCredential(cookies, r.SessionToken, r.Authorization, bearer)

		o.reset(answer401)
		g := guards[0]
		if !bearer {
			g = guards[1]
		}
		d := g.Check(ctx, &r)
		if d.Allowed() || d.Outcome != core.Login || d.Status != http.StatusUnauthorized {
			t.Fatalf("decision %v %d, want login 401 (Ory knows no session)", d.Outcome, d.Status)
		}
		checkWhoamiCalls(t, o.recorded(), want)
	})
}

// credWant is what whoami should receive.
type credWant struct {
	token      string   // the token, when a token is the credential
	tokenWins  bool     // a token (valid or not) was presented: no cookie may be sent
	cookies    []string // the valid Ory cookie pairs, in order
	cutShort   bool     // more than 8 Ory-named cookies: any in-order subset of cookies
	oryPresent int      // Ory-named cookies seen
}

var (
	bearerScheme = regexp.MustCompile(`(?s)^[Bb][Ee][Aa][Rr][Ee][Rr] +(.*)$`)
	// RFC 7230 token characters, for cookie names.
	tokenChars = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	// RFC 6265 cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
	cookieOctets = regexp.MustCompile(`^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+$`)
)

// expectCredential is the oracle's parser.
func expectCredential(cookieHeaders []string, token, authz string, bearer bool) credWant {
	validToken := func(t string) bool { return len(t) <= 4096 && visibleASCII(t) }
	if t := trimASCIISpace(token); t != "" {
		if validToken(t) {
			return credWant{token: t, tokenWins: true}
		}
		return credWant{tokenWins: true}
	}
	var w credWant
	for _, h := range cookieHeaders {
		for _, part := range strings.Split(h, ";") {
			part = trimASCIISpace(part)
			name, value, ok := strings.Cut(part, "=")
			if !ok {
				continue
			}
			isOry := name == "ory_kratos_session" ||
				(strings.HasPrefix(name, "ory_session_") && len(name) > len("ory_session_") && tokenChars.MatchString(name))
			if !isOry {
				continue
			}
			w.oryPresent++
			inner := value
			if len(inner) >= 2 && inner[0] == '"' && inner[len(inner)-1] == '"' {
				inner = inner[1 : len(inner)-1]
			}
			if len(inner) <= 4096 && cookieOctets.MatchString(inner) {
				w.cookies = append(w.cookies, part)
			}
		}
	}
	w.cutShort = w.oryPresent > 8
	if w.oryPresent > 0 || !bearer {
		return w
	}
	if m := bearerScheme.FindStringSubmatch(authz); m != nil {
		if t := trimASCIISpace(m[1]); t != "" {
			if validToken(t) {
				return credWant{token: t, tokenWins: true}
			}
			return credWant{tokenWins: true}
		}
	}
	return w
}

func checkWhoamiCalls(t *testing.T, calls []*http.Request, want credWant) {
	t.Helper()
	asked := want.token != "" || (!want.tokenWins && len(want.cookies) > 0)
	if want.cutShort && !want.tokenWins {
		if len(calls) > 1 {
			t.Fatalf("%d whoami calls, want at most one", len(calls))
		}
		if len(calls) == 0 {
			return
		}
		c := calls[0]
		if len(c.Header["X-Session-Token"]) != 0 || len(c.Header["Authorization"]) != 0 {
			t.Fatalf("whoami got a token from cookies alone: %q", c.Header)
		}
		got := c.Header["Cookie"]
		if len(got) != 1 || !inOrderSubset(strings.Split(got[0], "; "), want.cookies) {
			t.Fatalf("whoami got Cookie %q, want a subset of %q", got, want.cookies)
		}
		return
	}
	if !asked {
		if len(calls) != 0 {
			why := "no valid Ory credential was presented"
			if want.tokenWins {
				why = "the token presented is not valid, and a token wins over cookies"
			}
			t.Fatalf("Ory was asked with %q, want no call: %s", calls[0].Header, why)
		}
		return
	}
	if len(calls) != 1 {
		t.Fatalf("%d whoami calls, want 1 (token %q, cookies %q)", len(calls), want.token, want.cookies)
	}
	c := calls[0]
	if c.Method != http.MethodGet || c.URL.String() != fuzzOryURL+"/sessions/whoami" {
		t.Fatalf("whoami request %s %s", c.Method, c.URL)
	}
	if a := c.Header["Authorization"]; len(a) != 0 {
		t.Fatalf("Authorization %q reached Ory", a)
	}
	tok, cookie := c.Header["X-Session-Token"], c.Header["Cookie"]
	if want.token != "" {
		if len(tok) != 1 || tok[0] != want.token || len(cookie) != 0 {
			t.Fatalf("whoami got X-Session-Token %q, Cookie %q; want token %q alone", tok, cookie, want.token)
		}
		return
	}
	wantCookie := strings.Join(want.cookies, "; ")
	if len(cookie) != 1 || cookie[0] != wantCookie || len(tok) != 0 {
		t.Fatalf("whoami got Cookie %q, X-Session-Token %q; want Cookie %q alone", cookie, tok, wantCookie)
	}
}

// inOrderSubset reports whether got is a non-empty subsequence of all.
func inOrderSubset(got, all []string) bool {
	if len(got) == 0 {
		return false
	}
	i := 0
	for _, g := range got {
		for i < len(all) && all[i] != g {
			i++
		}
		if i == len(all) {
			return false
		}
		i++
	}
	return true
}
