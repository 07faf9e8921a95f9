package conformance

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	ory "github.com/ory/client-go"
	"github.com/valyala/fasthttp"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// RunFastHTTP runs the tests of what only the adapters on fasthttp (fiber v2 and v3) must get
// right, against the test kit: fasthttp reuses a request's buffers for the next request as
// soon as the handler returns, parses what net/http refuses, and can keep header names in the
// client's case. The tests hand the app requests themselves, as fasthttp's server does.
func RunFastHTTP(t *testing.T, a Adapter) {
	for _, tt := range []struct {
		name string
		run  func(t *testing.T, a Adapter)
	}{
		{"return_to's origin is the raw Host header", fastReturnToHost},
		{"header names in the client's case", fastRawHeaderNames},
		{"cookies parsed before the guard", fastCookiesParsedFirst},
		{"a whoami call outlives its request's buffers", fastCredentialOutlivesRequest},
		{"a kept decision outlives its request's buffers", fastDecisionOutlivesRequest},
		{"concurrent credentials do not alias", fastConcurrentCredentials},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, a) })
	}
}

// fastKit is the test kit with two signed-in users, aal1 (no second factor) and aal2.
type fastKit struct {
	srv   *orymfatest.Server
	token map[string]string // by AAL
	want  map[string]string // what the handler answers for that AAL's user
}

func newFastKit(t *testing.T) *fastKit {
	k := &fastKit{srv: orymfatest.NewServer(t), token: map[string]string{}, want: map[string]string{}}
	for _, aal := range []orymfatest.AAL{orymfatest.AAL1, orymfatest.AAL2} {
		token := k.srv.SignIn(k.srv.NewIdentity(), aal)
		s := k.srv.Session(token)
		k.token[string(aal)], k.want[string(aal)] = token, s.Id+" "+s.Identity.Id
	}
	return k
}

// cookie is the Kratos-sized browser session cookie of that AAL's session.
func (k *fastKit) cookie(aal string) string {
	c := k.srv.Cookie(k.token[aal])
	return c.Name + "=" + c.Value
}

// fastVerifier is a quiet verifier for the kit's Ory, through transport when not nil.
func fastVerifier(t *testing.T, sdkURL string, cache core.CacheConfig, transport http.RoundTripper) *core.Verifier {
	cfg := core.Config{SDKURL: sdkURL, Cache: cache, Logger: slog.New(slog.DiscardHandler), OnError: func(context.Context, error) {}}
	if transport != nil {
		oc := ory.NewConfiguration()
		oc.Servers = ory.ServerConfigurations{{URL: sdkURL}}
		oc.HTTPClient = &http.Client{Transport: transport}
		cfg.APIClient = ory.NewAPIClient(oc)
	}
	v, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fastApp is the adapter's conformance app as fasthttp calls it, answering "<session id>
// <identity id>" where a guard let the request in. A request with X-Leave: 1 gives up after a
// millisecond, one with X-Gone: 1 has given up already (its context is cancelled); deny, when
// not nil, is the /custom/aal2 deny handler.
func fastApp(t *testing.T, a Adapter, v *core.Verifier, rawHeaderNames bool, deny func(*core.Decision) (int, []byte)) fasthttp.RequestHandler {
	return a.FastHTTP(t, App{
		Verifier: v,
		Other:    v,
		MaxAge:   maxAge,
		Handle: func(s, _ *ory.Session) (int, []byte) {
			if s == nil {
				return http.StatusInternalServerError, []byte("no session")
			}
			return http.StatusOK, []byte(s.Id + " " + s.Identity.Id)
		},
		Deny: deny,
		Begin: func(ctx context.Context, r Incoming) (context.Context, func()) {
			switch {
			case r.Header("X-Leave") == "1":
				return context.WithTimeout(ctx, time.Millisecond)
			case r.Header("X-Gone") == "1":
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return ctx, func() {}
			}
			return ctx, func() {}
		},
	}, rawHeaderNames)
}

// serveRaw parses a raw HTTP/1.1 request as fasthttp's server does and serves it with h.
func serveRaw(t *testing.T, h fasthttp.RequestHandler, raw string) *fasthttp.Response {
	t.Helper()
	var fc fasthttp.RequestCtx
	if err := fc.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	h(&fc)
	return &fc.Response
}

// fastReturnToHost: return_to's origin comes from the raw Host header. net/http refuses
// "Host: app@evil.example" with 400; fasthttp accepts it and parses its URI host as
// evil.example. The guard must never send the user back to evil.example: without a valid Host
// there is no return_to at all (Ory uses its default). A request without Host fasthttp
// refuses itself, as net/http does; one built without it gets no return_to either.
func fastReturnToHost(t *testing.T, a Adapter) {
	k := newFastKit(t)
	h := fastApp(t, a, fastVerifier(t, k.srv.URL, core.CacheConfig{}, nil), false, nil)
	login := k.srv.URL + "/self-service/login/browser"
	for _, tt := range []struct{ raw, location string }{
		{"GET /session?q=1 HTTP/1.1\r\nHost: app@evil.example\r\nAccept: text/html\r\n\r\n", login},
		{"GET /session?q=1 HTTP/1.1\r\nHost: app@evil.example:443\r\nAccept: text/html\r\n\r\n", login},
		{"GET http://app@evil.example/session?q=1 HTTP/1.1\r\nHost: app@evil.example\r\nAccept: text/html\r\n\r\n", login},
		{"GET /session?q=1 HTTP/1.1\r\nHost: app.example\r\nAccept: text/html\r\n\r\n",
			login + "?return_to=" + url.QueryEscape("http://app.example/session?q=1")},
		// An absolute-form target keeps only its path and query; the origin is the Host header's.
		{"GET http://other.example/session?q=1 HTTP/1.1\r\nHost: app.example\r\nAccept: text/html\r\n\r\n",
			login + "?return_to=" + url.QueryEscape("http://app.example/session?q=1")},
	} {
		resp := serveRaw(t, h, tt.raw)
		if loc := string(resp.Header.Peek("Location")); resp.StatusCode() != http.StatusSeeOther || loc != tt.location {
			t.Errorf("%q: status %d, Location %q; want 303 to %q", tt.raw, resp.StatusCode(), loc, tt.location)
		}
	}
	var req fasthttp.Request
	if err := req.Read(bufio.NewReader(strings.NewReader("GET http://evil.example/session HTTP/1.1\r\nAccept: text/html\r\n\r\n"))); err == nil {
		t.Error("fasthttp accepted a request without Host")
	}
	var fc fasthttp.RequestCtx
	fc.Request.Header.SetMethod(http.MethodGet)
	fc.Request.SetRequestURI("http://evil.example/session?q=1")
	fc.Request.Header.Set("Accept", "text/html")
	h(&fc)
	if loc := string(fc.Response.Header.Peek("Location")); fc.Response.StatusCode() != http.StatusSeeOther || loc != login {
		t.Errorf("no Host: status %d, Location %q; want 303 to %q", fc.Response.StatusCode(), loc, login)
	}
}

// fastRawHeaderNames: with fasthttp's name normalizing off, header names keep the client's
// case, and the credentials are found all the same.
func fastRawHeaderNames(t *testing.T, a Adapter) {
	k := newFastKit(t)
	h := fastApp(t, a, fastVerifier(t, k.srv.URL, core.CacheConfig{}, nil), true, nil)
	for _, header := range []string{
		"x-session-token: " + k.token["aal2"],
		"authorization: bearer " + k.token["aal2"],
		"cookie: theme=dark; " + k.cookie("aal2"),
	} {
		resp := serveRaw(t, h, "GET /aal2 HTTP/1.1\r\nHost: app.example\r\n"+header+"\r\naccept: application/json\r\n\r\n")
		if resp.StatusCode() != 200 || string(resp.Body()) != k.want["aal2"] {
			t.Errorf("%.30s…: status %d, body %s; want 200 for the aal2 user", header, resp.StatusCode(), resp.Body())
		}
	}
}

// fastCookiesParsedFirst: a middleware that read a cookie before the guard (fiber's c.Cookies
// makes fasthttp parse them all) changes nothing, with one Cookie header or several.
func fastCookiesParsedFirst(t *testing.T, a Adapter) {
	k := newFastKit(t)
	h := fastApp(t, a, fastVerifier(t, k.srv.URL, core.CacheConfig{Disabled: true}, nil), false, nil)
	for _, cookies := range []string{
		"Cookie: theme=dark; " + k.cookie("aal2") + "\r\n",
		"Cookie: theme=dark\r\nCookie: " + k.cookie("aal2") + "\r\nCookie: lang=en\r\n",
	} {
		resp := serveRaw(t, h, "GET /aal2 HTTP/1.1\r\nHost: app.example\r\nX-Read-Cookie-First: 1\r\n"+cookies+"\r\n")
		if resp.StatusCode() != 200 || string(resp.Body()) != k.want["aal2"] {
			t.Errorf("%d Cookie headers: status %d, body %s; want 200 for the aal2 user", strings.Count(cookies, "Cookie:"), resp.StatusCode(), resp.Body())
		}
		if got := k.srv.LastCookie(); got != k.cookie("aal2") {
			t.Errorf("%d Cookie headers: whoami got Cookie %q", strings.Count(cookies, "Cookie:"), got)
		}
	}
}

// blockingTransport holds each whoami call until release is closed, then reports the session
// token it is about to send.
type blockingTransport struct {
	release chan struct{}
	seen    chan string
}

func (b *blockingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	<-b.release
	b.seen <- r.Header.Get("X-Session-Token")
	return transport.RoundTrip(r)
}

// fastCredentialOutlivesRequest: a request whose context is cancelled leaves while its whoami
// call goes on (the core shares it with other requests and caches its answer). fasthttp then
// reuses the request's buffers; the call must still send the original credential.
func fastCredentialOutlivesRequest(t *testing.T, a Adapter) {
	k := newFastKit(t)
	bt := &blockingTransport{release: make(chan struct{}), seen: make(chan string, 1)}
	h := fastApp(t, a, fastVerifier(t, k.srv.URL, core.CacheConfig{}, bt), false, nil)

	var fc fasthttp.RequestCtx
	fc.Request.Header.SetMethod(http.MethodGet)
	fc.Request.SetRequestURI("/session")
	fc.Request.Header.Set("X-Gone", "1") // the client went away
	fc.Request.Header.Set("X-Session-Token", k.token["aal2"])
	h(&fc)
	if fc.Response.StatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 for a cancelled request", fc.Response.StatusCode())
	}
	// Overwrite the header in place, as fasthttp does for the next request on this ctx.
	fc.Request.Header.Set("X-Session-Token", strings.Repeat("x", len(k.token["aal2"])))
	close(bt.release)
	if got := <-bt.seen; got != k.token["aal2"] {
		t.Fatalf("whoami sent token %q, want %q: the credential aliases fasthttp's buffer", got, k.token["aal2"])
	}
}

// fastDecisionOutlivesRequest: a deny handler may keep the decision (e.g. hand it to a logger
// goroutine); its strings must not change when fasthttp reuses the request's buffers.
func fastDecisionOutlivesRequest(t *testing.T, a Adapter) {
	k := newFastKit(t)
	var kept []*core.Decision
	h := fastApp(t, a, fastVerifier(t, k.srv.URL, core.CacheConfig{}, nil), false, func(d *core.Decision) (int, []byte) {
		kept = append(kept, d)
		return d.Status, d.Body
	})
	var fc fasthttp.RequestCtx
	queries := []string{"?q=aaaa", "?q=bbbb", "?q=cccc"}
	for _, q := range queries {
		fc.Request.Reset()
		fc.Response.Reset()
		fc.Request.Header.SetMethod(http.MethodGet)
		fc.Request.SetRequestURI("/custom/aal2" + q)
		fc.Request.Header.SetHost("app.example")
		fc.Request.Header.Set("Accept", "text/html")
		h(&fc)
	}
	if len(kept) != len(queries) {
		t.Fatalf("the deny handler kept %d decisions, want %d", len(kept), len(queries))
	}
	for i, d := range kept {
		want := "http://app.example/custom/aal2" + queries[i]
		if d.ReturnTo != want {
			t.Errorf("decision %d: ReturnTo = %q, want %q", i, d.ReturnTo, want)
		}
		if loc := d.Header.Get("Location"); loc != d.RedirectTo || !strings.HasSuffix(loc, "return_to="+url.QueryEscape(want)) {
			t.Errorf("decision %d: Location %q, RedirectTo %q", i, loc, d.RedirectTo)
		}
	}
}

// lateTransport sends each whoami request only after a few milliseconds, as a slow network
// would: when a request that gave up after one millisecond has long gone and its worker has
// reused its buffers for the next request.
type lateTransport struct{}

func (lateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case <-time.After(3 * time.Millisecond):
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return transport.RoundTrip(r)
}

// fastConcurrentCredentials proves that nothing the core keeps aliases fasthttp's reused
// buffers. Workers each own one fasthttp.RequestCtx, as fasthttp's server gives one to each
// connection, and overwrite its headers in place for the next request as soon as the handler
// returns. Distinct users send cookies, session tokens or bearer tokens; several workers ask
// for the same user at once, so cache misses coalesce into one shared whoami call; some
// requests give up after a millisecond while the shared call they started goes on for the
// others (sent 3 ms later), so that call must not read their buffers then. Every handler must
// see its own user, and a second round must find each credential cached (or, with the cache
// off, verified) as the right user.
func fastConcurrentCredentials(t *testing.T, a Adapter) {
	type user struct {
		header, value string // e.g. "Cookie", "_ga=1; ory_kratos_session=…; lang=en"
		want          string // what the handler must answer: session id and identity id
	}
	for _, cache := range []core.CacheConfig{{}, {Disabled: true}} {
		t.Run(fmt.Sprintf("cache disabled %v", cache.Disabled), func(t *testing.T) {
			srv := orymfatest.NewServer(t)
			h := fastApp(t, a, fastVerifier(t, srv.URL, cache, lateTransport{}), false, nil)
			users := make([]user, 24)
			for i := range users {
				token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
				s := srv.Session(token)
				users[i].want = s.Id + " " + s.Identity.Id
				switch i % 3 {
				case 0:
					c := srv.Cookie(token)
					users[i].header, users[i].value = "Cookie", "_ga=GA1.1.2094823482; theme=dark; "+c.Name+"="+c.Value+"; lang=en-GB"
				case 1:
					users[i].header, users[i].value = "X-Session-Token", token
				case 2:
					users[i].header, users[i].value = "Authorization", "Bearer "+token
				}
			}

			// round serves every user to every worker; worker w starts at user w/4, so about
			// four workers ask for each user at once. With leave, every fifth request leaves.
			round := func(leave bool) (requests int) {
				const workers = 16
				var wg sync.WaitGroup
				var mu sync.Mutex
				for w := range workers {
					wg.Go(func() {
						var fc fasthttp.RequestCtx
						n := 0
						for i := range users {
							u := users[(i+w/4)%len(users)]
							gone := leave && (i+w)%5 == 0
							fc.Request.Reset()
							fc.Response.Reset()
							fc.Request.Header.SetMethod(http.MethodGet)
							fc.Request.SetRequestURI("/aal2")
							fc.Request.Header.SetHost("app.example")
							fc.Request.Header.Set("Accept", "application/json")
							fc.Request.Header.Set(u.header, u.value)
							if gone {
								fc.Request.Header.Set("X-Leave", "1")
							}
							h(&fc)
							fc.ResetUserValues() // as fasthttp's server does after each request
							status, body := fc.Response.StatusCode(), string(fc.Response.Body())
							switch {
							case gone && status == http.StatusGatewayTimeout:
							case status != http.StatusOK || body != u.want:
								t.Errorf("worker %d, %s %.40q…: status %d, body %q; want 200 %q", w, u.header, u.value, status, body, u.want)
							}
							// Scribble over the buffers the request used, as the next request on
							// this connection would.
							fc.Request.Header.Set(u.header, strings.Repeat("x", len(u.value)))
							n++
						}
						mu.Lock()
						requests += n
						mu.Unlock()
					})
				}
				wg.Wait()
				return requests
			}

			n := round(true)
			calls := srv.Calls()
			if cache.Disabled && calls >= n {
				t.Errorf("round 1: %d whoami calls for %d requests: no call was shared", calls, n)
			}
			t.Logf("round 1: %d requests, %d whoami calls", n, calls)

			srv.ResetCalls()
			n = round(false)
			calls = srv.Calls()
			if !cache.Disabled && calls != 0 {
				t.Errorf("round 2: %d whoami calls, want 0: every credential should be cached", calls)
			}
			t.Logf("round 2: %d requests, %d whoami calls", n, calls)
		})
	}
}
