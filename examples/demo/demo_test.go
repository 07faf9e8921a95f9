package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

func TestStartRefusesATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	used := map[string]bool{taken.Addr().String(): true}
	a, b := freeAddrs(t, 2, used), freeAddrs(t, 2, used)
	for _, tc := range []struct {
		name string
		o    options
	}{
		{"app", options{addr: taken.Addr().String(), kratosPublic: a[0], kratosAdmin: a[1]}},
		{"kratos public", options{addr: a[0], kratosPublic: taken.Addr().String(), kratosAdmin: a[1]}},
		{"kratos admin", options{addr: b[0], kratosPublic: b[1], kratosAdmin: taken.Addr().String()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.framework = "nethttp"
			tc.o.log = testWriter{t}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d, err := start(ctx, tc.o)
			if err == nil {
				d.Close()
				t.Fatal("start succeeded on a taken port")
			}
			if !strings.Contains(err.Error(), taken.Addr().String()) || !strings.Contains(err.Error(), "already in use") {
				t.Errorf("error %q does not say plainly that %s is in use", err, taken.Addr())
			}
		})
	}
}

func TestStartRefusesAnUnknownFramework(t *testing.T) {
	_, err := start(context.Background(), options{framework: "rails", log: testWriter{t}})
	if err == nil || !strings.Contains(err.Error(), "nethttp, chi, gin, echo, echov5, fiber, fiberv3") {
		t.Errorf("error %v, want the list of frameworks", err)
	}
}

// TestDemoScriptHelp runs scripts/demo.sh -h in its spellings: it must print the usage with
// every framework and every flag a person passes (the script's text is a copy of register's
// flags), at once: nothing is built, so the cache it would build into stays empty.
func TestDemoScriptHelp(t *testing.T) {
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "demo.sh"))
	if err != nil {
		t.Fatal(err)
	}
	var flags []string
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	new(options).register(fs)
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Name {
		case "framework", "app": // the script sets them: the framework is its first argument
		default:
			flags = append(flags, "-"+f.Name)
		}
	})
	for _, args := range [][]string{{"-h"}, {"--help"}, {"gin", "-h"}, {"gin", "--help"}, {"echo", "-addr", "127.0.0.1:5555", "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cache := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
			cmd.Env = append(os.Environ(), "ORYMFA_CACHE="+cache, "ORYMFA_KRATOS_BIN=")
			began := time.Now()
			out, err := cmd.CombinedOutput()
			took := time.Since(began)
			if err != nil {
				t.Fatalf("demo.sh %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			help := string(out)
			if !strings.HasPrefix(help, "Usage: scripts/demo.sh ") {
				t.Errorf("help does not start with the usage line:\n%s", help)
			}
			if strings.Contains(help, "set -e") || strings.Contains(help, "#!") {
				t.Errorf("help shows script lines:\n%s", help)
			}
			for _, want := range append(append([]string{}, frameworks...), flags...) {
				if !strings.Contains(help, want) {
					t.Errorf("help does not mention %s:\n%s", want, help)
				}
			}
			if entries, err := os.ReadDir(cache); err != nil || len(entries) > 0 {
				t.Errorf("help built something into the cache (%v): %v", err, entries)
			}
			t.Logf("help in %v", took)
		})
	}
}

func TestAllowOriginFlag(t *testing.T) {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.register(fs)
	if err := fs.Parse([]string{"-allow-origin", "http://127.0.0.1:8080/,https://App.example", "-allow-origin", "http://127.0.0.1:9090", "-allow-origin", "http://127.0.0.1:8080"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"http://127.0.0.1:8080", "https://app.example", "http://127.0.0.1:9090"}
	if !slices.Equal(o.allowOrigins, want) {
		t.Errorf("origins %q, want %q", o.allowOrigins, want)
	}
	for _, bad := range []string{"127.0.0.1:8080", "http://127.0.0.1:8080/app", "ftp://x", "http://", "http://x?y=1"} {
		if err := fs.Parse([]string{"-allow-origin", bad}); err == nil {
			t.Errorf("-allow-origin %q accepted", bad)
		}
	}

	dir := t.TempDir()
	path, err := writeKratosConfig(dir, kratosConfig{publicAddr: "127.0.0.1:4433", adminAddr: "127.0.0.1:4434", appURL: "http://127.0.0.1:4455", origins: want})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Selfservice struct {
			AllowedReturnURLs []string `json:"allowed_return_urls"`
		} `json:"selfservice"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	wantURLs := []string{"http://127.0.0.1:4455/", "http://127.0.0.1:8080/", "https://app.example/", "http://127.0.0.1:9090/"}
	if !slices.Equal(cfg.Selfservice.AllowedReturnURLs, wantURLs) {
		t.Errorf("allowed_return_urls %q, want %q", cfg.Selfservice.AllowedReturnURLs, wantURLs)
	}
}

func TestStartupText(t *testing.T) {
	d := &demo{appURL: "http://127.0.0.1:4455", publicURL: "http://127.0.0.1:4433", adminURL: "http://127.0.0.1:4434"}
	text := startupText("gin", d, "/tmp/kratos.log", nil)
	for _, want := range []string{"open http://127.0.0.1:4455/transfer", "ORY_SDK_URL=http://127.0.0.1:4433", "-allow-origin http://127.0.0.1:8080"} {
		if !strings.Contains(text, want) {
			t.Errorf("startup text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "/account") {
		t.Errorf("startup text sends people to /account first, the README to /transfer:\n%s", text)
	}
	text = startupText("gin", d, "/tmp/kratos.log", []string{"http://localhost:8080"})
	if !strings.Contains(text, "http://localhost:8080") || !strings.Contains(text, "use http://127.0.0.1:8080") {
		t.Errorf("startup text does not warn that localhost misses the cookie for 127.0.0.1:\n%s", text)
	}
}

func TestMailboxOrderAndLabels(t *testing.T) {
	b := newMailbox(io.Discard)
	deliver := func(template, codeKey, code string) {
		t.Helper()
		body := fmt.Sprintf(`{"recipient":"ada@example.com","template_type":%q,"template_data":{%q:%q,"request_url":"http://x/"}}`, template, codeKey, code)
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, b.path, strings.NewReader(body)))
		if rec.Code != http.StatusNoContent {
			t.Fatalf("courier answered %d", rec.Code)
		}
	}
	deliver("verification_code_valid", "verification_code", "111111")
	deliver("login_code_valid", "login_code", "222222")
	deliver("login_code_valid", "login_code", "333333")
	deliver("recovery_code_valid", "recovery_code", "444444")
	var got []string
	for _, m := range b.list() {
		got = append(got, fmt.Sprintf("%s %s %v", m.Label(), m.Code, m.Featured))
	}
	want := []string{"Sign-in code 333333 true", "Recovery code 444444 false", "Sign-in code 222222 false", "Verify your email 111111 false"}
	if !slices.Equal(got, want) {
		t.Errorf("mailbox lists\n%q\nwant\n%q", got, want)
	}
}

func TestErrorSentences(t *testing.T) {
	var e kratosError
	e.Error.Message = "The request was malformed or contained invalid parameters"
	e.Error.Reason = `Requested return_to URL "http://127.0.0.1:8080/x" is not allowed.`
	want := []string{"The request was malformed or contained invalid parameters.", `Requested return_to URL "http://127.0.0.1:8080/x" is not allowed.`}
	if got := e.sentences(); !slices.Equal(got, want) {
		t.Errorf("sentences %q, want %q", got, want)
	}
	u := &ui{app: "http://127.0.0.1:4455", public: "http://127.0.0.1:4433"}
	if h := u.returnToHint(e.Error.Reason); h.Origin != "http://127.0.0.1:8080" || h.Allowed != u.app || h.More || h.Instead != "" {
		t.Errorf("hint %+v does not name the refused origin and the allowed one", h)
	}
}

// TestStartOnFreePortsRetriesAClash: a port the test picked may be taken before the demo or
// Kratos binds it; the browser test then starts again on fresh ports, three times at most, and
// gives up at once on any other error.
func TestStartOnFreePortsRetriesAClash(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	// What start says when a port is gone (checked by TestStartRefusesATakenPort), and what it
	// says when Kratos or the app lost the race for one (their output ends the error).
	_, clash := listen(taken.Addr().String(), "Kratos's admin API")
	kratosClash := errors.New("Kratos exited before it was ready: exit status 0\n--- Kratos log ---\nlisten tcp 127.0.0.1:4434: bind: address already in use")
	other := errors.New("building the gin example: exit status 1")
	for _, tc := range []struct {
		name      string
		errs      []error // what each attempt returns; then success
		wantCalls int
		wantErr   error
	}{
		{"clash then success", []error{clash}, 2, nil},
		{"Kratos's clash then success", []error{kratosClash}, 2, nil},
		{"three clashes", []error{clash, kratosClash, clash}, 3, clash},
		{"another error", []error{other}, 1, other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var addrs []string
			fake := func(_ context.Context, o options) (*demo, error) {
				addrs = append(addrs, o.addr, o.kratosPublic, o.kratosAdmin)
				if n := len(addrs) / 3; n <= len(tc.errs) {
					return nil, tc.errs[n-1]
				}
				return &demo{}, nil
			}
			d, err := startOnFreePorts(context.Background(), t, fake, options{framework: "nethttp"})
			if err != tc.wantErr || (err == nil) != (d != nil) {
				t.Errorf("got %v, %v; want error %v", d, err, tc.wantErr)
			}
			if got := len(addrs) / 3; got != tc.wantCalls {
				t.Errorf("%d attempts, want %d", got, tc.wantCalls)
			}
			if slices.Contains(addrs, "") || len(slices.Compact(slices.Sorted(slices.Values(addrs)))) != len(addrs) {
				t.Errorf("ports %q: want fresh ones on every attempt", addrs)
			}
		})
	}
}

// TestReturnToHintOnAnotherHostName: Kratos refused a return_to on localhost while it sets its
// session cookie for 127.0.0.1. Allowing localhost (the plain hint) would turn the error into a
// redirect loop, as the browser never sends the 127.0.0.1 cookie to localhost: the page tells
// the person to open the same URL on 127.0.0.1 instead, and never to allow localhost.
func TestReturnToHintOnAnotherHostName(t *testing.T) {
	for _, tc := range []struct {
		name, refused string
		instead       string // the link the page shows
		allow         string // the -allow-origin the page asks for, "" for none
	}{
		{"the demo at localhost", "http://localhost:4455/transfer?x=1", "http://127.0.0.1:4455/transfer?x=1", ""},
		{"an allowed app at localhost", "http://LocalHost:8080/", "http://127.0.0.1:8080/", ""},
		{"another app at localhost", "http://localhost:9090/landing", "http://127.0.0.1:9090/landing", "http://127.0.0.1:9090"},
		{"an app on another name, default port", "https://app.localhost/x", "https://127.0.0.1/x", "https://127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &ui{public: "http://127.0.0.1:4433", app: "http://127.0.0.1:4455", origins: []string{"http://127.0.0.1:8080"}}
			h := u.returnToHint(`Requested return_to URL "` + tc.refused + `" is not allowed.`)
			if h.Instead != tc.instead || h.InsteadOrigin != tc.allow {
				t.Errorf("hint says open %q and allow %q, want %q and %q", h.Instead, h.InsteadOrigin, tc.instead, tc.allow)
			}
			page := renderErrorPage(t, h)
			if !strings.Contains(page, `id="error-instead" href="`+html.EscapeString(tc.instead)+`"`) {
				t.Errorf("the error page does not link %s:\n%s", tc.instead, page)
			}
			if strings.Contains(strings.ToLower(page), "-allow-origin http://localhost") || strings.Contains(page, "-allow-origin https://app.localhost") {
				t.Errorf("the error page asks to allow the origin whose cookie never arrives:\n%s", page)
			}
			if got := strings.Contains(page, "-allow-origin "+tc.allow); tc.allow != "" && !got {
				t.Errorf("the error page does not ask for -allow-origin %s:\n%s", tc.allow, page)
			}
		})
	}
}

// renderErrorPage renders the error page with the hint h, as the UI serves it.
func renderErrorPage(t *testing.T, h *returnToHint) string {
	t.Helper()
	u, err := newUI("http://127.0.0.1:4433", "http://127.0.0.1:4455", nil, newMailbox(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p := &errorPage{chrome: chrome{Title: "Bad Request"}, Paragraphs: []string{"The return_to is not allowed."}, ReturnTo: h}
	if err := u.pages["error"].Execute(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCourierRefusesForgedMail: the mailbox features the newest sign-in code, so mail from a
// web page or another local process would put a stranger's code and link in front of the
// person signing in. Only a POST to the courier path with this run's secret (which the demo's
// Kratos has) is a mail; anything else is answered 404, kept nowhere and printed nowhere.
func TestCourierRefusesForgedMail(t *testing.T) {
	var printed strings.Builder
	b := newMailbox(&printed)
	if other := newMailbox(io.Discard); other.path == b.path || len(strings.TrimPrefix(b.path, "/courier/")) < 26 {
		t.Fatalf("courier paths %q and %q: want a fresh secret of 128 bits or more per mailbox", b.path, other.path)
	}
	forged := `{"recipient":"ada@example.com","template_type":"login_code_valid","template_data":{"login_code":"666666","login_url":"https://evil.example/"}}`
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "/ui/courier"}, // where the mailbox took mail before
		{http.MethodPost, "/courier/"},
		{http.MethodPost, "/courier/" + strings.Repeat("A", 26)},
		{http.MethodPost, b.path + "x"},
		{http.MethodPost, strings.TrimSuffix(b.path, b.path[len(b.path)-1:])},
		{http.MethodPost, "/"},
		{http.MethodGet, b.path},
		{http.MethodPut, b.path},
	} {
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(forged)))
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", tc.method, tc.path, rec.Code)
		}
	}
	if n := b.count(); n != 0 || printed.Len() != 0 {
		t.Errorf("forged mail kept (%d) or printed (%q)", n, printed.String())
	}
	// The same mail at the secret path is Kratos's, and is shown.
	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, b.path, strings.NewReader(forged)))
	if rec.Code != http.StatusNoContent || b.count() != 1 || !strings.Contains(printed.String(), "666666") {
		t.Errorf("mail at the secret path: %d, %d kept, printed %q; want 204, 1, its code", rec.Code, b.count(), printed.String())
	}
}

// TestMailPrintedEscaped: what the terminal prints of a mail comes from what a user typed
// (the address, through Kratos) or from the mail itself; an escape sequence in it must reach
// the terminal as visible text, never as ESC, so it cannot retitle the window, clear the
// screen, hide a line or rewrite the code shown.
func TestMailPrintedEscaped(t *testing.T) {
	var printed strings.Builder
	b := newMailbox(&printed)
	body, err := json.Marshal(map[string]any{
		"recipient":     "ada@example.com\x1b]0;pwned\x07\x1b[2J\r\u202eevil",
		"template_type": "login_code_valid",
		"template_data": map[string]string{"login_code": "\x1b[1A\x1b[2K123456\u009b31m"},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, b.path, bytes.NewReader(body)))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("courier answered %d", rec.Code)
	}
	out := strings.TrimSuffix(printed.String(), "\n")
	for i, r := range out {
		if !unicode.IsPrint(r) {
			t.Errorf("printed %q: rune %U at %d reaches the terminal", out, r, i)
		}
	}
	for _, want := range []string{`ada@example.com\x1b]0;pwned\x07\x1b[2J\x0d\u202eevil`, `\x1b[1A\x1b[2K123456\u009b31m`} {
		if !strings.Contains(out, want) {
			t.Errorf("printed %q, want %q in it", out, want)
		}
	}
	if got, want := printable(`a\x1b`+"\x1b\xff\U000e0041"), `a\\x1b\x1b\xff\U000e0041`; got != want {
		t.Errorf("printable = %q, want %q", got, want)
	}
}

// TestMailboxPageOnlyOnThisMachine: the mailbox page shows everyone's sign-in codes, so it
// answers browsers on this machine only, even when -addr puts the UI on another interface; and
// the mailbox takes mail on a loopback port of its own (TestDemoWithKratos checks the port).
func TestMailboxPageOnlyOnThisMachine(t *testing.T) {
	b := newMailbox(io.Discard)
	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, b.path, strings.NewReader(`{"recipient":"ada@example.com","template_type":"login_code_valid","template_data":{"login_code":"424242"}}`)))
	u, err := newUI("http://127.0.0.1:4433", "http://127.0.0.1:4455", nil, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		peer string
		want int
	}{{"127.0.0.1:50000", 200}, {"[::1]:50000", 200}, {"[::ffff:127.0.0.1]:50000", 200}, {"192.0.2.7:50000", 403}, {"[2001:db8::7]:50000", 403}} {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:4455/ui/mailbox", nil)
		req.RemoteAddr = tc.peer
		rec := httptest.NewRecorder()
		u.ServeHTTP(rec, req)
		if shown := strings.Contains(rec.Body.String(), "424242"); rec.Code != tc.want || shown != (tc.want == 200) {
			t.Errorf("mailbox page for %s: %d, code shown %v; want %d", tc.peer, rec.Code, shown, tc.want)
		}
	}
}

// TestStartRefusesAnotherHostName: the app and the login UI must be on Kratos's host name, the
// one its session cookie is set for: -addr localhost:… beside Kratos on 127.0.0.1 would end
// every sign-in in a redirect loop, so start refuses it and names the address to use.
func TestStartRefusesAnotherHostName(t *testing.T) {
	for _, tc := range []struct{ addr, kratos, want string }{
		{"localhost:4455", "127.0.0.1:4433", "use -addr 127.0.0.1:4455"},
		{":4455", "127.0.0.1:4433", "use -addr 127.0.0.1:4455"},
		{"127.0.0.1:4455", "localhost:4433", "use -addr localhost:4455"},
		{"4455", "127.0.0.1:4433", "want host:port"},
	} {
		d, err := start(context.Background(), options{framework: "nethttp", addr: tc.addr, kratosPublic: tc.kratos, kratosAdmin: "127.0.0.1:4434", log: testWriter{t}})
		if err == nil {
			d.Close()
			t.Fatalf("-addr %s beside -kratos-public %s: started", tc.addr, tc.kratos)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("-addr %s beside -kratos-public %s: %v, want it to say %q", tc.addr, tc.kratos, err, tc.want)
		}
	}
}

// TestOnOriginSendsOtherHostNamesToTheDemo: a browser that opened the demo under another name
// (http://localhost:4455 for 127.0.0.1:4455) is sent to the same path on the demo's origin
// before the app builds a return_to Kratos would refuse.
func TestOnOriginSendsOtherHostNamesToTheDemo(t *testing.T) {
	h := onOrigin("http://127.0.0.1:4455", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "served")
	}))
	for _, tc := range []struct{ url, location string }{
		{"http://localhost:4455/transfer?a=1", "http://127.0.0.1:4455/transfer?a=1"},
		{"http://LOCALHOST:4455/", "http://127.0.0.1:4455/"},
		{"http://evil.example:4455/ui/mailbox", "http://127.0.0.1:4455/ui/mailbox"},
		{"http://127.0.0.1:4455/transfer", ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.url, nil))
		if tc.location == "" {
			if rec.Code != http.StatusOK || rec.Body.String() != "served" {
				t.Errorf("%s: %d %q, want it served", tc.url, rec.Code, rec.Body)
			}
		} else if rec.Code != http.StatusTemporaryRedirect || rec.Header().Get("Location") != tc.location {
			t.Errorf("%s: %d to %q, want 307 to %s", tc.url, rec.Code, rec.Header().Get("Location"), tc.location)
		}
	}
}
