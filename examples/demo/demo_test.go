package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
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
)

func TestStartRefusesATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		name string
		o    options
	}{
		{"app", options{addr: taken.Addr().String(), kratosPublic: freeAddr(t), kratosAdmin: freeAddr(t)}},
		{"kratos public", options{addr: freeAddr(t), kratosPublic: taken.Addr().String(), kratosAdmin: freeAddr(t)}},
		{"kratos admin", options{addr: freeAddr(t), kratosPublic: freeAddr(t), kratosAdmin: taken.Addr().String()}},
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
		b.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, courierPath, strings.NewReader(body)))
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
	u := &ui{app: "http://127.0.0.1:4455"}
	if h := u.returnToHint(e.Error.Reason); h.Origin != "http://127.0.0.1:8080" || h.Allowed != u.app || h.More {
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
