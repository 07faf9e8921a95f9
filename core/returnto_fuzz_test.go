package core_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/nethttp"
)

// FuzzReturnTo drives raw request bytes through net/http's request parser and the net/http
// adapter, as an anonymous browser navigation, and checks the login redirect:
//
//   - 303 to the configured browser URL plus /self-service/login/browser, a Location of
//     visible ASCII only (no CR/LF: no header injection), no fragment, no query parameter but
//     return_to;
//   - return_to is empty or an absolute http(s) URL without user info or fragment, whose path
//     and query are the request's own (as net/http parsed them) and whose origin is AppURL
//     when set, else the trusted X-Forwarded-* or the request's Host and TLS;
//   - return_to is not empty for an ordinary request (origin-form target, a plain host name);
//   - the handler never runs and Ory is never asked (there is no credential).
//
// Every input runs against four verifiers: AppURL set or not, TrustForwardedHeaders on or off.
func FuzzReturnTo(f *testing.F) {
	seeds := []string{
		"GET /a?b=c HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: app.example:8080\r\n\r\n",
		"GET /account/settings?tab=security&x=%20y HTTP/1.1\r\nHost: APP.Example\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\n\r\n",
		// The client picks the host: absolute-form targets and hostile Host headers.
		"GET http://evil.example/x?y=1 HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"GET https://evil.example HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"GET http://app@evil.example/x HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: app@evil.example\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: evil.example/x?y#\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: [fe80::1%25eth0]:80\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: app.example:99999\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: :80\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: app.example:\r\n\r\n",
		"GET /x HTTP/1.0\r\n\r\n",
		"GET //evil.example/x HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"GET /\\evil.example HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"CONNECT app.example:443 HTTP/1.1\r\nHost: app.example:443\r\n\r\n",
		// Forwarded headers, trusted or not.
		"GET /x HTTP/1.1\r\nHost: app.internal\r\nX-Forwarded-Host: shop.example, proxy.internal\r\nX-Forwarded-Proto: HTTPS\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: app.internal\r\nX-Forwarded-Host: evil.example/@x\r\nX-Forwarded-Proto: javascript\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: app.internal\r\nX-Forwarded-Host: \r\nX-Forwarded-Host: second.example\r\n\r\n",
		// Escapes, CRLF attempts, fragments, non-ASCII.
		"GET /a%0d%0aSet-Cookie:%20x=y?r=%0d%0aLocation:%20http://evil HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"GET /a%2Fb/%2e%2e/c?x=%2F&y=a+b HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"GET /a#frag HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"GET /a?b#c HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"GET /\xc3\xa9t\xc3\xa9?q=\xc3\xa9 HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"GET /x?return_to=http://evil.example&aal=aal2 HTTP/1.1\r\nHost: app.example\r\n\r\n",
		// A form's POST comes back to the form's page (a same-origin Referer), else to "/".
		"POST /transfer HTTP/1.1\r\nHost: app.example\r\nReferer: http://app.example/form?to=bob#top\r\n\r\n",
		"POST /transfer HTTP/1.1\r\nHost: app.example\r\nReferer: https://shop.example:8443/form\r\n\r\n",
		"DELETE /x HTTP/1.1\r\nHost: app.example\r\nReferer: http://evil.example/form\r\n\r\n",
		"PUT /x HTTP/1.1\r\nHost: app.example\r\nReferer: http://user@app.example/form\r\n\r\n",
		"PATCH /x?y=1 HTTP/1.1\r\nHost: app.example\r\n\r\n",
		// A DNS label over 63 bytes. Targets and headers past the length bounds are in
		// TestReturnToPastTheBounds, not here: the fuzzer spends time on every byte of a seed,
		// and quadratic time minimizing each new input it derives from one (a 700-byte
		// mutant kept a worker busy for the whole 60 s minimization budget).
		"GET /x HTTP/1.1\r\nHost: " + strings.Repeat("a", 64) + ".example\r\n\r\n",
		// Credentials are removed by the harness: the request stays anonymous.
		"GET /x HTTP/1.1\r\nHost: app.example\r\nCookie: ory_kratos_session=abc\r\nX-Session-Token: t\r\nAuthorization: Bearer t\r\n\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("GET /secure?x=1 HTTP/1.1\r\nHost: app.example\r\n\r\n"), true)
	f.Add([]byte("GET /x HTTP/1.1\r\nHost: app.internal\r\nX-Forwarded-Proto: http\r\n\r\n"), true)
	f.Fuzz(returnToHarness(f))
}

// TestReturnToPastTheBounds runs FuzzReturnTo's harness on requests past the length bounds:
// return_to over 2048 bytes loses its query, or is left out when the path alone is too long
// (a byte return_to must escape counts three times), and hosts over 255 bytes are refused.
func TestReturnToPastTheBounds(t *testing.T) {
	h := returnToHarness(t)
	for name, raw := range map[string]string{
		"path":                 "GET /" + strings.Repeat("a", 2100) + " HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"escaped path":         "GET /" + strings.Repeat("\xff", 700) + " HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"query":                "GET /long?" + strings.Repeat("q=1&", 600) + " HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"escaped query":        "GET /long?" + strings.Repeat("#", 700) + " HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"host":                 "GET /x HTTP/1.1\r\nHost: " + strings.Repeat("a", 300) + ".example\r\n\r\n",
		"forwarded host":       "GET /x HTTP/1.1\r\nHost: app.example\r\nX-Forwarded-Host: " + strings.Repeat("b", 9000) + "\r\n\r\n",
		"path at the bound":    "GET /" + strings.Repeat("a", 2048-len("http://app.example/")) + " HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"query at the bound":   "GET /q?" + strings.Repeat("#", (2048-len("http://app.example/q?"))/3) + " HTTP/1.1\r\nHost: app.example\r\n\r\n",
		"query past the bound": "GET /q?" + strings.Repeat("#", (2048-len("http://app.example/q?"))/3+1) + " HTTP/1.1\r\nHost: app.example\r\n\r\n",
	} {
		for _, isTLS := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/tls=%v", name, isTLS), func(t *testing.T) { h(t, []byte(raw), isTLS) })
		}
	}
}

// returnToHarness builds FuzzReturnTo's guards and returns its fuzz function.
func returnToHarness(tb testing.TB) func(t *testing.T, raw []byte, isTLS bool) {
	const browserURL = "https://auth.example.com/ory" // a path prefix, to check it is kept
	const appURL = "https://shop.example:8443"
	o := &fuzzOry{answer: answer401}
	type target struct {
		appURL string
		trust  bool
		h      http.Handler
	}
	var targets []target
	var handlerRan bool
	for _, app := range []string{"", appURL} {
		for _, trust := range []bool{false, true} {
			v := newFuzzVerifier(tb, o, core.Config{BrowserURL: browserURL, AppURL: app, TrustForwardedHeaders: trust})
			h := orymfa.RequireSession(orymfa.WithVerifier(v))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { handlerRan = true }))
			targets = append(targets, target{app, trust, h})
		}
	}

	return func(t *testing.T, raw []byte, isTLS bool) {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		// An anonymous browser navigation: the answer is a 303 to the login.
		for _, h := range []string{"Cookie", "X-Session-Token", "Authorization"} {
			req.Header.Del(h)
		}
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		if isTLS {
			req.TLS = &tls.ConnectionState{}
		}
		// What the request is, computed here from net/http's parse, before any guard sees it.
		want := requestFacts(req, isTLS)
		o.reset(answer401)
		for _, tg := range targets {
			handlerRan = false
			w := &headerRecorder{header: http.Header{}}
			tg.h.ServeHTTP(w, req)
			if handlerRan {
				t.Fatalf("AppURL %q trust %v: the handler ran for an anonymous request", tg.appURL, tg.trust)
			}
			checkLoginRedirect(t, w, browserURL, tg.appURL, tg.trust, want)
		}
		if n := len(o.recorded()); n != 0 {
			t.Fatalf("Ory was asked %d times for a request without credentials", n)
		}
	}
}

// reqFacts is what the oracle knows about a parsed request.
type reqFacts struct {
	method, referer   string
	requestURI        string
	host              string
	tls               bool
	path, escapedPath string
	rawQuery          string
	fwdHost, fwdProto string // first element of the first header line, trimmed
}

func requestFacts(r *http.Request, isTLS bool) reqFacts {
	first := func(h string) string {
		v, _, _ := strings.Cut(r.Header.Get(h), ",")
		return trimASCIISpace(v)
	}
	return reqFacts{
		method:      r.Method,
		referer:     r.Header.Get("Referer"),
		requestURI:  r.RequestURI,
		host:        r.Host,
		tls:         isTLS,
		path:        r.URL.Path,
		escapedPath: r.URL.EscapedPath(),
		rawQuery:    r.URL.RawQuery,
		fwdHost:     first("X-Forwarded-Host"),
		fwdProto:    strings.ToLower(first("X-Forwarded-Proto")),
	}
}

// plainHost is a DNS name or an IP literal with an optional port: a Host for which a guard
// has no reason to leave return_to out.
func plainHost(h string) bool {
	if len(h) > 253 {
		return false
	}
	if m := bracketed.FindStringSubmatch(h); m != nil {
		a, err := netip.ParseAddr(m[1])
		return err == nil && a.Is6() && a.Zone() == ""
	}
	return dnsName.MatchString(h)
}

var (
	dnsName   = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?::[0-9]{1,5})?$`)
	bracketed = regexp.MustCompile(`^\[([^\]]*)\](?::[0-9]{1,5})?$`)
)

// returnToBound is the documented bound on return_to: a longer one loses its query, or is
// left out.
const returnToBound = 2048

func checkLoginRedirect(t *testing.T, w *headerRecorder, browserURL, appURL string, trust bool, want reqFacts) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("AppURL %q, trust %v, TLS %v, target %q, Host %q: "+format,
			append([]any{appURL, trust, want.tls, want.requestURI, want.host}, args...)...)
	}
	if w.status != http.StatusSeeOther {
		fail("status %d, want 303", w.status)
	}
	for k, vs := range w.header {
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n\x00") {
				fail("header %s has a control character: %q", k, v)
			}
		}
	}
	locs := w.header["Location"]
	if len(locs) != 1 {
		fail("Location %q, want one", locs)
	}
	loc := locs[0]
	if !visibleASCII(loc) {
		fail("Location is not visible ASCII: %q", loc)
	}
	if !strings.HasPrefix(loc, browserURL+"/self-service/") {
		fail("Location %q is not under %s/self-service/", loc, browserURL)
	}
	lu, err := url.Parse(loc)
	if err != nil {
		fail("Location %q: %v", loc, err)
	}
	if lu.Path != "/ory/self-service/login/browser" || lu.Fragment != "" || strings.Contains(loc, "#") {
		fail("Location %q is not the login", loc)
	}
	q, err := url.ParseQuery(lu.RawQuery)
	if err != nil {
		fail("Location %q: query: %v", loc, err)
	}
	for k, vs := range q {
		if k != "return_to" || len(vs) != 1 {
			fail("Location %q: unexpected parameter %s=%q", loc, k, vs)
		}
	}
	ret := q.Get("return_to")

	wantScheme, wantHost := "http", want.host
	if want.tls {
		wantScheme = "https"
	}
	switch {
	case appURL != "":
		au, _ := url.Parse(appURL)
		wantScheme, wantHost = au.Scheme, au.Host
	case trust:
		if want.fwdProto == "http" || want.fwdProto == "https" {
			wantScheme = want.fwdProto
		}
		if want.fwdHost != "" {
			wantHost = want.fwdHost
		}
	}

	if safe := want.method == "GET" || want.method == "HEAD" || want.method == "OPTIONS" || want.method == "TRACE"; !safe {
		// Back to the page the form was on, when the browser names one of the app's own
		// (scheme and host alike, without user info); else the app's root. Never the URL of
		// the unsafe request: a browser comes back with a GET.
		want.requestURI, want.path, want.escapedPath, want.rawQuery = "/", "/", "/", ""
		if ru, err := url.Parse(want.referer); err == nil && ru.Opaque == "" && ru.User == nil &&
			strings.EqualFold(ru.Scheme, wantScheme) && strings.EqualFold(ru.Host, wantHost) && strings.HasPrefix(ru.RequestURI(), "/") {
			want.requestURI, want.path, want.escapedPath, want.rawQuery = ru.RequestURI(), ru.Path, ru.EscapedPath(), ru.RawQuery
		}
	}
	wantPath, wantEscaped := want.path, want.escapedPath
	if wantPath == "" {
		wantPath, wantEscaped = "/", "/"
	}
	// return_to carries the query as net/http parsed it, but with every '#' escaped (%23):
	// return_to has no fragment.
	carriedQuery := len(want.rawQuery) + 2*strings.Count(want.rawQuery, "#")

	if ret == "" {
		// Without its query, return_to is the origin and the escaped path: left out only
		// when even that is over the bound.
		ordinary := strings.HasPrefix(want.requestURI, "/") && plainHost(wantHost) &&
			len(wantScheme)+len("://")+len(wantHost)+len(wantEscaped) <= returnToBound
		if ordinary {
			fail("no return_to for an ordinary request (want origin %s://%s)", wantScheme, wantHost)
		}
		return
	}
	u, err := url.Parse(ret)
	if err != nil {
		fail("return_to %q does not parse: %v", ret, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		fail("return_to %q: scheme %q", ret, u.Scheme)
	case u.Opaque != "" || u.Host == "":
		fail("return_to %q is not an absolute URL with a host", ret)
	case u.User != nil:
		fail("return_to %q has user info", ret)
	case u.Fragment != "" || strings.Contains(ret, "#"):
		fail("return_to %q has a fragment", ret)
	case len(ret) > returnToBound:
		fail("return_to is %d bytes, over the bound %d", len(ret), returnToBound)
	}
	if u.Scheme != wantScheme || u.Host != wantHost {
		fail("return_to %q: origin %s://%s, want %s://%s", ret, u.Scheme, u.Host, wantScheme, wantHost)
	}
	if u.Path != wantPath || u.EscapedPath() != wantEscaped {
		fail("return_to %q: path %q (%q), want the request's %q (%q)", ret, u.Path, u.EscapedPath(), wantPath, wantEscaped)
	}
	if u.RawQuery != want.rawQuery && !sameQuery(u.RawQuery, want.rawQuery) {
		// Only a return_to that would be too long may lose its query, and only all of it.
		if u.RawQuery != "" || len(ret)+len("?")+carriedQuery <= returnToBound {
			fail("return_to %q: query %q, want the request's %q", ret, u.RawQuery, want.rawQuery)
		}
	}
}

// sameQuery reports whether two raw queries read as the same parameters (one may escape
// what the other sent raw, e.g. a '#' or a non-ASCII byte).
func sameQuery(a, b string) bool {
	qa, errA := url.ParseQuery(a)
	qb, errB := url.ParseQuery(b)
	return errA == nil && errB == nil && reflect.DeepEqual(qa, qb)
}

// headerRecorder is the least a ResponseWriter must do for the oracle: keep the header and
// the status.
type headerRecorder struct {
	header http.Header
	status int
}

func (w *headerRecorder) Header() http.Header { return w.header }

func (w *headerRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *headerRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(b), nil
}
