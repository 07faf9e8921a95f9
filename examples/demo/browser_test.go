package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// chromiumPath is where scripts/install-chromium.sh puts Chromium.
const chromiumPath = "/usr/bin/chromium"

// TestBrowserStepUp clicks through the demo of every example in headless Chromium: sign up,
// open the money route, get sent to the second factor, read the one-time code in the dev
// mailbox, enter it and land back on the route with the identity shown; then enroll TOTP in
// the settings. Screenshots of each step go to screenshots/<framework>/. With -short only the
// nethttp example runs.
func TestBrowserStepUp(t *testing.T) {
	chromium := chromiumPath
	if _, err := os.Stat(chromium); err != nil {
		p, lookErr := exec.LookPath("chromium")
		if lookErr != nil {
			t.Fatalf("Chromium is not installed (%v): run scripts/install-chromium.sh", err)
		}
		chromium = p
	}
	for _, fw := range frameworks {
		t.Run(fw, func(t *testing.T) {
			if testing.Short() && fw != "nethttp" {
				t.Skip("-short: only the nethttp example")
			}
			stepUpInBrowser(t, fw, chromium)
		})
	}
}

func stepUpInBrowser(t *testing.T, framework, chromium string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d, err := start(ctx, options{
		framework:    framework,
		addr:         freeAddr(t),
		kratosPublic: freeAddr(t),
		kratosAdmin:  freeAddr(t),
		log:          testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)

	// Not t.TempDir: Chromium's helper processes may still write to the profile after it
	// exits, which would fail the test in TempDir's cleanup.
	profile, err := os.MkdirTemp("", "orymfa-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(900, 900),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer func() {
		_ = chromedp.Cancel(browser) // close Chromium gracefully
		cancelBrowser()
	}()
	// Start the browser under the test's context: a step's timeout must not close it.
	if err := chromedp.Run(browser); err != nil {
		t.Fatalf("start Chromium (%s): %v", chromium, err)
	}

	shots := filepath.Join("screenshots", framework)
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	step := 0
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			step++
			var png []byte
			if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, fmt.Sprintf("%02d-%s.png", step, name)), png, 0o644)
		})
	}
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		stepCtx, cancel := context.WithTimeout(browser, time.Minute)
		defer cancel()
		if err := chromedp.Run(stepCtx, actions...); err != nil {
			var loc, body string
			_ = chromedp.Run(browser, chromedp.Location(&loc), chromedp.Text("body", &body, chromedp.ByQuery))
			t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
		}
	}

	email := fmt.Sprintf("ada.%d@example.com", time.Now().UnixNano()%1e6)
	const password = "correct-Horse-battery-9"
	transfer := d.appURL + "/transfer"

	// 1. The money route sends an anonymous visitor to sign in.
	run("anonymous /transfer shows the login",
		chromedp.Navigate(transfer),
		chromedp.WaitVisible(`input[name="identifier"]`, chromedp.ByQuery),
		shot("login"),
	)
	// 2. Sign up instead, with return_to carried along.
	run("sign up",
		chromedp.Click(`//a[contains(., "Sign up")]`, chromedp.BySearch),
		chromedp.WaitVisible(`input[name="traits.email"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="traits.email"]`, email, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="password"]`, password, chromedp.ByQuery),
		shot("registration"),
		chromedp.Click(`button[name="method"][value="password"]`, chromedp.ByQuery),
	)
	// 3. Back on /transfer, the session has one factor: the step-up prompt.
	mailsBefore := d.mail.count()
	var title string
	run("step-up prompt",
		chromedp.WaitVisible(`button[name="address"]`, chromedp.ByQuery),
		chromedp.Text("h1", &title, chromedp.ByQuery),
		shot("step-up"),
		chromedp.Click(`button[name="address"]`, chromedp.ByQuery), // "Send code to …"
		chromedp.WaitVisible(`input[name="code"]`, chromedp.ByQuery),
		shot("step-up-code"),
	)
	if title != "Second factor" {
		t.Errorf("step-up page title %q, want %q", title, "Second factor")
	}
	var stepUpURL string
	run("remember the step-up flow", chromedp.Location(&stepUpURL))

	// 4. The code arrives in the dev mailbox.
	m, err := d.mail.wait(ctx, mailsBefore, email, "login_code_valid")
	if err != nil {
		t.Fatal(err)
	}
	var code string
	row := fmt.Sprintf(`.mail[data-seq="%d"] .code`, m.Seq)
	run("read the code in the mailbox",
		chromedp.Navigate(d.appURL+"/ui/mailbox"),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		chromedp.Text(row, &code, chromedp.ByQuery),
		shot("mailbox"),
	)
	if code = strings.TrimSpace(code); code == "" || code != m.Code {
		t.Fatalf("mailbox shows code %q, the courier delivered %q", code, m.Code)
	}

	// 5. Enter it: Kratos sends the browser back to the route it first asked for.
	var shownEmail, aal, landed string
	run("submit the code",
		chromedp.Navigate(stepUpURL),
		chromedp.WaitVisible(`input[name="code"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="code"]`, code, chromedp.ByQuery),
		chromedp.Click(`button[name="method"][value="code"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#email`, chromedp.ByQuery),
		chromedp.Location(&landed),
		chromedp.Text(`#email`, &shownEmail, chromedp.ByQuery),
		chromedp.Text(`#aal`, &aal, chromedp.ByQuery),
		shot("transfer"),
	)
	if landed != transfer {
		t.Errorf("after the step-up the browser is at %s, want %s", landed, transfer)
	}
	if shownEmail != email || aal != "aal2" {
		t.Errorf("page shows %q with %q, want %q with aal2", shownEmail, aal, email)
	}

	// 6. The account page works with the same session.
	run("account page",
		chromedp.Navigate(d.appURL+"/account"),
		chromedp.WaitVisible(`#email`, chromedp.ByQuery),
		chromedp.Text(`#email`, &shownEmail, chromedp.ByQuery),
		shot("account"),
	)
	if shownEmail != email {
		t.Errorf("/account shows %q, want %q", shownEmail, email)
	}

	// 7. Enroll an authenticator app (TOTP) in the settings.
	var secret string
	run("settings show a TOTP secret",
		chromedp.Navigate(d.appURL+"/ui/settings"),
		chromedp.WaitVisible(`#totp_secret_key`, chromedp.ByQuery),
		chromedp.Text(`#totp_secret_key`, &secret, chromedp.ByQuery),
		shot("settings"),
	)
	totpCode, err := totp.GenerateCode(strings.TrimSpace(secret), time.Now())
	if err != nil {
		t.Fatalf("totp secret %q: %v", secret, err)
	}
	var msg string
	run("enroll TOTP",
		chromedp.SendKeys(`input[name="totp_code"]`, totpCode, chromedp.ByQuery),
		chromedp.Click(`button[name="method"][value="totp"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.msg.success`, chromedp.ByQuery),
		chromedp.Text(`.msg.success`, &msg, chromedp.ByQuery),
		shot("settings-totp-enrolled"),
	)
	if !strings.Contains(msg, "saved") {
		t.Errorf("settings message %q, want it to say the settings were saved", msg)
	}

	// 8. Log out, sign in again with the password: the money route asks for the second
	// factor again, now offering the authenticator app too.
	var home string
	run("log out",
		chromedp.Navigate(d.appURL+"/account"),
		chromedp.WaitVisible(`#email`, chromedp.ByQuery),
		chromedp.Click(`//a[text()="Log out"]`, chromedp.BySearch),
		chromedp.WaitVisible(`//p[contains(., "Anyone can see this page")]`, chromedp.BySearch),
		chromedp.Location(&home),
	)
	if home != d.appURL+"/" {
		t.Errorf("after logout the browser is at %s, want %s/", home, d.appURL)
	}
	run("sign in again",
		chromedp.Navigate(transfer),
		chromedp.WaitVisible(`input[name="identifier"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="identifier"]`, email, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="password"]`, password, chromedp.ByQuery),
		chromedp.Click(`button[name="method"][value="password"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`input[name="totp_code"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[name="address"]`, chromedp.ByQuery),
		shot("step-up-code-or-totp"),
	)
	totpCode, err = totp.GenerateCode(strings.TrimSpace(secret), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	run("step up with TOTP",
		chromedp.SendKeys(`input[name="totp_code"]`, totpCode, chromedp.ByQuery),
		chromedp.Click(`button[name="method"][value="totp"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#email`, chromedp.ByQuery),
		chromedp.Location(&landed),
		chromedp.Text(`#aal`, &aal, chromedp.ByQuery),
	)
	if landed != transfer || aal != "aal2" {
		t.Errorf("after the TOTP step-up: at %s with %q, want %s with aal2", landed, aal, transfer)
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// testWriter sends the demo's output to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var _ io.Writer = testWriter{}
