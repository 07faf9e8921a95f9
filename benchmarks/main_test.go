package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/kratostest"
)

// Tests that need Kratos are skipped with -short; everything else runs on loopback fakes.

func startKratos(t *testing.T) (*kratostest.Project, context.Context) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Kratos")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	p, err := kratostest.Start(ctx, kratostest.TOTP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, ctx
}

// TestColdStartMakesOneWhoamiCall checks the coalescing target for every adapter against a
// real Kratos, with a browser cookie and with a session token: 200 concurrent first requests
// of one session make exactly one whoami call, and all of them are let through.
func TestColdStartMakesOneWhoamiCall(t *testing.T) {
	p, ctx := startKratos(t)
	for _, kind := range []string{credCookie, credToken} {
		creds, _, err := newSessions(ctx, p, kind, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, adapter := range allAdapters {
			t.Run(kind+"/"+adapter, func(t *testing.T) {
				res, err := coldStart(ctx, p, adapter, creds[0], 200)
				if err != nil {
					t.Fatal(err)
				}
				if res.OK != 200 || res.Calls != 1 || res.ProxyCalls != 1 {
					t.Fatalf("%d of 200 allowed with %d whoami calls (proxy saw %d), want 200 with exactly 1", res.OK, res.Calls, res.ProxyCalls)
				}
			})
		}
	}
}

// TestCommandRuns runs the whole command briefly: it must finish without errors and report
// every adapter. It checks that the command works, not how fast anything is.
func TestCommandRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Kratos")
	}
	shortenMemory(t)
	o := defaultOptions()
	o.duration, o.warmup, o.rounds, o.concurrency, o.cold, o.unknown, o.memEntries = 100*time.Millisecond, 0, 1, 2, 20, 300, 50
	var out bytes.Buffer
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, adapter := range allAdapters {
		if !strings.Contains(out.String(), "| "+adapter+" | cached |") {
			t.Fatalf("no cached row for %s in:\n%s", adapter, out.String())
		}
	}
	if bad := regexp.MustCompile(`errors [1-9]`).FindString(out.String()); bad != "" {
		t.Fatalf("requests failed during the load:\n%s", out.String())
	}
	for _, want := range []string{"unknown tokens: 300 requests at concurrency 2", "| cookie |", "| token |", "cached session, total"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Log(out.String())
}

func shortenMemory(t *testing.T) {
	op, gc := opRound, gcLoadTime
	opRound, gcLoadTime = 5*time.Millisecond, 50*time.Millisecond
	t.Cleanup(func() { opRound, gcLoadTime = op, gc })
}

func TestOptionsCheck(t *testing.T) {
	if err := defaultOptions().check(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, change := range map[string]func(*options){
		"adapter":    func(o *options) { o.adapters = []string{"nethttp", "martini"} },
		"credential": func(o *options) { o.credential = "bearer" },
		"rounds":     func(o *options) { o.rounds = 0 },
		"benchtime":  func(o *options) { o.benchtime = "soon" },
		"unknown":    func(o *options) { o.unknown = -1 },
	} {
		o := defaultOptions()
		change(&o)
		if o.check() == nil {
			t.Errorf("%s: bad options accepted", name)
		}
	}
}

func TestCredentialHeaders(t *testing.T) {
	h := credential{credCookie, "v"}.header()
	if got := h.Get("Cookie"); !strings.Contains(got, "; ory_kratos_session=v; ") || strings.Count(got, "=") != 6 {
		t.Fatalf("cookie header %q: want the session cookie among five app cookies", got)
	}
	if h.Get("Accept") != acceptBrowser || h.Get("X-Session-Token") != "" {
		t.Fatalf("cookie request headers %v", h)
	}
	h = credential{credToken, "ory_st_x"}.header()
	if h.Get("X-Session-Token") != "ory_st_x" || h.Get("Accept") != acceptAPI || h.Get("Cookie") != "" {
		t.Fatalf("token request headers %v", h)
	}
	if tok := randomToken(); len(tok) != 39 || !strings.HasPrefix(tok, "ory_st_") || tok == randomToken() {
		t.Fatalf("randomToken %q", tok)
	}
}

func TestSessionTemplate(t *testing.T) {
	tmpl, err := newSessionTemplate([]byte(recordedKratosSession))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range 3 {
		body := tmpl.body(i)
		var s ory.Session
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatalf("session %d: %v\n%s", i, err, body)
		}
		if s.ExpiresAt == nil || !s.ExpiresAt.After(time.Now()) {
			t.Fatalf("session %d expires at %v", i, s.ExpiresAt)
		}
		email, _ := s.Identity.Traits.(map[string]any)["email"].(string)
		for _, id := range []string{s.Id, s.Identity.Id, s.Devices[0].Id, email} {
			if seen[id] {
				t.Fatalf("session %d repeats %q", i, id)
			}
			seen[id] = true
		}
		if len(body) != len(tmpl.body(0)) {
			t.Fatalf("session %d is %d bytes, session 0 %d", i, len(body), len(tmpl.body(0)))
		}
		if s.GetAuthenticatorAssuranceLevel() != ory.AUTHENTICATORASSURANCELEVEL_AAL2 {
			t.Fatalf("session %d: aal %v", i, s.GetAuthenticatorAssuranceLevel())
		}
	}
	for _, i := range []int{0, 7, 99_999} {
		tok, c := sessionToken(i), sessionCookie(i, kratosCookieLen)
		if len(tok) != 39 || len(c) != kratosCookieLen {
			t.Fatalf("credential lengths %d, %d", len(tok), len(c))
		}
		if n, ok := sessionIndex(tok); !ok || n != i {
			t.Fatalf("sessionIndex(%q) = %d, %v", tok, n, ok)
		}
		if n, ok := sessionIndex(c); !ok || n != i {
			t.Fatalf("sessionIndex(cookie %d) = %d, %v", i, n, ok)
		}
	}
	if sessionCookie(1, 100) == sessionCookie(2, 100) {
		t.Fatal("two sessions share a cookie")
	}
}

// TestConnCounter counts the connections a keep-alive client and a closing client open.
func TestConnCounter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	for _, keepAlive := range []bool{true, false} {
		cc, err := newConnCounter(strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: !keepAlive}}
		for range 10 {
			resp, err := client.Get(cc.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "ok" {
				t.Fatalf("through the forwarder: %q", b)
			}
		}
		client.CloseIdleConnections()
		want := int64(10)
		if keepAlive {
			want = 1
		}
		if got := cc.Accepted(); got != want {
			t.Errorf("keep-alive %v: %d connections, want %d", keepAlive, got, want)
		}
		cc.Close()
	}
}

// TestUnknownTokensReuseConnections is issue 8.5 without Kratos: many requests with unknown
// tokens through the nethttp adapter, every one asking (the fake) Ory, open fewer than
// 3 × concurrency connections with the verifier's own transport.
func TestUnknownTokensReuseConnections(t *testing.T) {
	tmpl, err := newSessionTemplate([]byte(recordedKratosSession))
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakeKratos(tmpl)
	defer fake.Close()
	v, cc, err := newVerifier(fake.URL, core.CacheConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	a, err := startApp("nethttp", v)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	const n, conc = 2000, 32
	client := newClient(conc)
	defer client.CloseIdleConnections()
	res, err := loadUnknown(context.Background(), client, a.URL+"/r", n, conc)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != n || res.Errors != 0 {
		t.Fatalf("%d requests, %d errors (%s); want %d answered 401", res.Total, res.Errors, res.FirstErr, n)
	}
	if got := fake.calls.Load(); got != n {
		t.Fatalf("%d whoami calls for %d unknown tokens", got, n)
	}
	if got := cc.Accepted(); got >= 3*conc {
		t.Fatalf("%d new connections to Ory for %d requests at concurrency %d, want < %d", got, n, conc, 3*conc)
	}
	t.Logf("%d unknown tokens: %d connections to Ory (peak %d open)", n, cc.Accepted(), cc.Peak())
}

// TestApps serves every adapter's app bare and guarded against a fake Ory: sessions pass as a
// cookie and as a token, unknown ones do not.
func TestApps(t *testing.T) {
	tmpl, err := newSessionTemplate([]byte(recordedKratosSession))
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakeKratos(tmpl)
	defer fake.Close()
	good := []credential{{credCookie, sessionCookie(1, kratosCookieLen)}, {credToken, sessionToken(2)}}
	for _, adapter := range allAdapters {
		t.Run(adapter, func(t *testing.T) {
			v, cc, err := newVerifier(fake.URL, core.CacheConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			for _, verifier := range []*core.Verifier{nil, v} {
				a, err := startApp(adapter, verifier)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range good {
					if got := status(t, a.URL+"/r", c.header()); got != http.StatusOK {
						t.Errorf("%s: %d, want 200", c.kind, got)
					}
				}
				if verifier != nil {
					if got := status(t, a.URL+"/r", credential{credToken, randomToken()}.header()); got != http.StatusUnauthorized {
						t.Errorf("unknown token: %d, want 401", got)
					}
					if got := status(t, a.URL+"/r", credential{credCookie, "nope"}.header()); got != http.StatusSeeOther {
						t.Errorf("unknown cookie: %d, want 303", got)
					}
				}
				a.close()
			}
		})
	}
}

// TestLoadCounts drives a fake app: requests are counted, non-200 answers are errors, and a
// limited load stops at its count.
func TestLoadCounts(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("X-Session-Token")]++
		mu.Unlock()
		if r.Header.Get("X-Session-Token") == "bad" {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	client := newClient(4)
	defer client.CloseIdleConnections()
	res, err := load(context.Background(), client, srv.URL, []credential{{credToken, "a"}, {credToken, "bad"}}, 4, 0, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total == 0 || res.Errors == 0 || res.Errors == res.Total || res.Requests != res.Total-res.Errors {
		t.Fatalf("load: %+v", res)
	}
	res, err = loadUnknown(context.Background(), client, srv.URL, 57, 4)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 57 || res.Errors != 57 { // the fake answers 200, not 401
		t.Fatalf("loadUnknown: %+v", res)
	}
	if len(seen) < 57 {
		t.Fatalf("%d distinct tokens, want a new one per unknown request", len(seen))
	}
	if err := checkLoopback("http://example.com/"); err == nil {
		t.Fatal("a non-loopback target was accepted")
	}
}

// TestMemoryFigures runs the memory part on a few sessions of the recorded Kratos document.
func TestMemoryFigures(t *testing.T) {
	shortenMemory(t)
	var out bytes.Buffer
	if err := runMemory(context.Background(), &out, []byte(recordedKratosSession), 200, ""); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"| cookie |", "| token |", "| one cached session (cookie) |", "AdditionalProperties", "**cached session, total**", "client-go's UnmarshalJSON"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Log(out.String())
}

func TestParseBench(t *testing.T) {
	out := `goos: linux
BenchmarkNethttpBare/cookie-2         	 9451232	       126.5 ns/op	       0 B/op	       0 allocs/op
BenchmarkNethttpCached/token-2        	 1000000	      1043 ns/op	     368 B/op	       2 allocs/op
BenchmarkChiCached/cookie             	 1000000	      1500 ns/op	     736 B/op	       4 allocs/op
BenchmarkOther/cookie-2               	 1000000	      1500 ns/op	     736 B/op	       4 allocs/op
PASS`
	got := parseBench(benchModules[0], out)
	want := []benchSample{
		{"nethttp", "Bare", "cookie", 126.5, 0, 0},
		{"nethttp", "Cached", "token", 1043, 368, 2},
		{"chi", "Cached", "cookie", 1500, 736, 4},
	}
	if len(got) != len(want) {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	got = parseBench(benchModules[5], "BenchmarkCached/token-2 \t 100 \t 700 ns/op \t 48 B/op \t 1 allocs/op\n")
	if len(got) != 1 || got[0].adapter != "fiberv3" || got[0].allocs != 1 {
		t.Fatalf("fiber/v3 line: %+v", got)
	}
	var tab bytes.Buffer
	printInProcess(&tab, []string{"nethttp"}, []benchSample{
		{"nethttp", "Bare", "cookie", 100, 0, 0}, {"nethttp", "Cached", "cookie", 400, 48, 1},
		{"nethttp", "Bare", "token", 100, 0, 0}, {"nethttp", "Cached", "token", 900, 48, 3},
	}, 1, "1s")
	if !strings.Contains(tab.String(), "| nethttp | cookie | 100 ns, 0 allocs | 400 ns, 1 allocs | +300 ns ✓ | +1 ✓ |") ||
		!strings.Contains(tab.String(), "+800 ns ✗ | +3 ✗") || !strings.Contains(tab.String(), "targets of issue 12 met: false") {
		t.Fatalf("table:\n%s", tab.String())
	}
	if _, err := repoRoot(); err != nil {
		t.Fatal(err)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 2, 3}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
