package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
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
// the settings. On the way it checks what a person sees: the UI pages' header names the
// signed-in user (or says "Signed out"), the mailbox labels each mail and puts the newest
// sign-in code first, Kratos's error page shows its sentences apart, the demo opened at
// localhost moves to 127.0.0.1, and an app at another origin allowed with -allow-origin gets
// the browser back with the session. The app's own
// pages get the same header: the public home page says "Signed out", or names the aal1
// session that still owes its second factor, or the user. Screenshots of each step go to
// screenshots/<framework>/. With -short it is skipped.
func TestBrowserStepUp(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no Kratos, no Chromium")
	}
	chromium := chromiumPath
	if _, err := os.Stat(chromium); err != nil {
		p, lookErr := exec.LookPath("chromium")
		if lookErr != nil {
			t.Fatalf("Chromium is not installed (%v): run scripts/install-chromium.sh", err)
		}
		chromium = p
	}
	// Build every example at once (go build links them in parallel) rather than one by one
	// in start, without debug information (linking is most of the time).
	bin := t.TempDir()
	build := exec.Command("go", append([]string{"build", "-ldflags=-s -w", "-o", bin + string(filepath.Separator)}, prefixed("./", frameworks)...)...)
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the examples: %v\n%s", err, out)
	}
	// Each framework gets its own Kratos, app and Chromium; most of a run is waiting (for
	// Kratos's courier, for pages), so they run side by side, as many as -parallel allows
	// (GOMAXPROCS by default).
	for _, fw := range frameworks {
		t.Run(fw, func(t *testing.T) {
			t.Parallel()
			stepUpInBrowser(t, fw, filepath.Join(bin, fw), chromium)
		})
	}
}

func prefixed(prefix string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = prefix + s
	}
	return out
}

func stepUpInBrowser(t *testing.T, framework, appBin, chromium string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// A reader's own app on another port that uses the demo's Kratos (-allow-origin): its
	// landing page asks Kratos who the browser's session cookie belongs to.
	var kratosPublic atomic.Value // the address of the demo's Kratos, known once it runs
	ownApp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email, aal := whoami(r, "http://"+kratosPublic.Load().(string))
		fmt.Fprintf(w, `<!doctype html><title>own app</title><p>Your own app</p><p id="own-email">%s</p><p id="own-aal">%s</p>`,
			html.EscapeString(email), html.EscapeString(aal))
	}))
	defer ownApp.Close()
	d, err := startOnFreePorts(ctx, t, start, options{
		framework:    framework,
		appBin:       appBin,
		allowOrigins: []string{ownApp.URL},
		log:          testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	kratosPublic.Store(strings.TrimPrefix(d.publicURL, "http://"))

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
	if err := os.RemoveAll(shots); err != nil { // no stale steps from an earlier run
		t.Fatal(err)
	}
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
	loginFor := func(returnTo string) string {
		return d.publicURL + "/self-service/login/browser?return_to=" + url.QueryEscape(returnTo)
	}
	// header reads the UI pages' header: who is signed in, with which AAL.
	var who, whoEmail, whoAAL string
	header := chromedp.ActionFunc(func(ctx context.Context) error {
		whoEmail, whoAAL = "", ""
		if err := chromedp.AttributeValue(`#who`, "data-state", &who, nil, chromedp.ByQuery).Do(ctx); err != nil {
			return err
		}
		if who != "signed-in" {
			return chromedp.Text(`#who`, &who, chromedp.ByQuery).Do(ctx)
		}
		if err := chromedp.Text(`#who-email`, &whoEmail, chromedp.ByQuery).Do(ctx); err != nil {
			return err
		}
		return chromedp.Text(`#who-aal`, &whoAAL, chromedp.ByQuery).Do(ctx)
	})
	wantSignedOut := func(page string) {
		t.Helper()
		if !strings.HasPrefix(who, "Signed out") {
			t.Errorf("%s: header says %q, want Signed out", page, who)
		}
	}
	wantSignedIn := func(page, aal string) {
		t.Helper()
		if who != "signed-in" || whoEmail != email || whoAAL != aal {
			t.Errorf("%s: header shows %q %q %q, want %s with %s", page, who, whoEmail, whoAAL, email, aal)
		}
	}

	// 0. Kratos refuses a return_to outside the allowed origins; the error page shows its two
	// sentences apart and names the flag. An origin given with -allow-origin is accepted.
	var paragraphs []string
	var hint string
	run("a disallowed return_to shows the error page",
		chromedp.Navigate(loginFor("http://127.0.0.1:1/elsewhere")),
		chromedp.WaitVisible(`#error`, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll("#error p")].map(p => p.textContent)`, &paragraphs),
		chromedp.Text(`#error-hint`, &hint, chromedp.ByQuery),
		header,
		shot("error-return-to"),
	)
	wantSignedOut("error page")
	if len(paragraphs) != 2 || !strings.HasSuffix(paragraphs[0], ".") ||
		!strings.Contains(paragraphs[1], `"http://127.0.0.1:1/elsewhere" is not allowed.`) {
		t.Errorf("error page paragraphs %q, want Kratos's message and its reason apart, each a sentence", paragraphs)
	}
	if !strings.Contains(hint, "-allow-origin http://127.0.0.1:1") {
		t.Errorf("error page hint %q does not name -allow-origin with the refused origin", hint)
	}
	var loginURL string
	run("a return_to on an -allow-origin origin is accepted",
		chromedp.Navigate(loginFor(ownApp.URL+"/landing")),
		chromedp.WaitVisible(`input[name="identifier"]`, chromedp.ByQuery),
		chromedp.Location(&loginURL),
	)
	if !strings.HasPrefix(loginURL, d.appURL+"/ui/login?flow=") {
		t.Errorf("login with return_to on %s went to %s, want the login page", ownApp.URL, loginURL)
	}

	// The demo opened at localhost, the name people type, is sent to 127.0.0.1, the host
	// Kratos's cookie is for, and on to the login: no error page, and no redirect loop later.
	var atLogin string
	run("the demo opened at localhost",
		chromedp.Navigate(strings.Replace(transfer, "127.0.0.1", "localhost", 1)),
		chromedp.WaitVisible(`input[name="identifier"]`, chromedp.ByQuery),
		chromedp.Location(&atLogin),
	)
	if !strings.HasPrefix(atLogin, d.appURL+"/ui/login?flow=") {
		t.Errorf("the demo opened at localhost went to %s, want the login page at %s", atLogin, d.appURL)
	}

	// 1. The money route sends an anonymous visitor to sign in.
	run("anonymous /transfer shows the login",
		chromedp.Navigate(transfer),
		chromedp.WaitVisible(`input[name="identifier"]`, chromedp.ByQuery),
		header,
		shot("login"),
	)
	wantSignedOut("login page")
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
		header,
		shot("step-up"),
		chromedp.Click(`button[name="address"]`, chromedp.ByQuery), // "Send code to …"
		chromedp.WaitVisible(`input[name="code"]`, chromedp.ByQuery),
		shot("step-up-code"),
	)
	if title != "Second factor" {
		t.Errorf("step-up page title %q, want %q", title, "Second factor")
	}
	wantSignedIn("step-up page", "aal1")
	var stepUpURL string
	run("remember the step-up flow", chromedp.Location(&stepUpURL))

	// 4. The code arrives in the dev mailbox, next to the email-verification code sent at
	// sign-up and a recovery code asked for afterwards: the newest sign-in code comes first,
	// each mail is labelled by its purpose.
	m, err := d.mail.wait(ctx, mailsBefore, email, "login_code_valid")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.mail.wait(ctx, 0, email, "verification_code_valid"); err != nil {
		t.Fatal(err)
	}
	requestRecoveryCode(t, d.publicURL, email)
	if _, err := d.mail.wait(ctx, m.Seq, email, "recovery_code_valid"); err != nil {
		t.Fatal(err)
	}
	var code string
	var mails []struct {
		Seq      string `json:"seq"`
		Template string `json:"template"`
		Label    string `json:"label"`
		Featured bool   `json:"featured"`
	}
	row := fmt.Sprintf(`.mail[data-seq="%d"] .code`, m.Seq)
	run("read the code in the mailbox",
		chromedp.Navigate(d.appURL+"/ui/mailbox"),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		chromedp.Text(row, &code, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll(".mail")].map(li => ({
			seq: li.dataset.seq, template: li.dataset.template,
			label: li.querySelector(".label").textContent.trim(),
			featured: li.classList.contains("featured")}))`, &mails),
		header,
		shot("mailbox"),
	)
	if code = strings.TrimSpace(code); code == "" || code != m.Code {
		t.Fatalf("mailbox shows code %q, the courier delivered %q", code, m.Code)
	}
	wantSignedIn("mailbox", "aal1")
	labels := map[string]string{"login_code_valid": "Sign-in code", "verification_code_valid": "Verify your email", "recovery_code_valid": "Recovery code"}
	for i, got := range mails {
		if want := labels[got.Template]; want != "" && got.Label != want {
			t.Errorf("mailbox labels a %s mail %q, want %q", got.Template, got.Label, want)
		}
		if first := i == 0; got.Featured != first {
			t.Errorf("mailbox row %d (%s) featured=%v", i, got.Template, got.Featured)
		}
	}
	if len(mails) < 3 || mails[0].Seq != fmt.Sprint(m.Seq) || mails[1].Template != "recovery_code_valid" {
		t.Errorf("mailbox order %+v: want the newest sign-in code (#%d) first, then the newer recovery code", mails, m.Seq)
	}

	// The app's public home page asks Ory who is signed in: an aal1 session that still owes
	// its second factor (Ory names no user before it), with a link to prove it.
	var appState, appAAL, proveHref string
	run("home page at aal1",
		chromedp.Navigate(d.appURL+"/"),
		chromedp.WaitVisible(`#who`, chromedp.ByQuery),
		chromedp.AttributeValue(`#who`, "data-state", &appState, nil, chromedp.ByQuery),
		chromedp.Text(`#who-aal`, &appAAL, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll("#who a")].filter(a => a.textContent == "Prove your second factor").map(a => a.href).join(" ")`, &proveHref),
		shot("home-aal1"),
	)
	if appState != "signed-in" || appAAL != "aal1" || !strings.HasPrefix(proveHref, d.publicURL+"/self-service/login/browser?aal=aal2") {
		t.Errorf("home page at aal1: header %q %q with step-up link %q, want signed-in aal1 and a link to Ory's aal2 login", appState, appAAL, proveHref)
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
	var nav []string
	run("the app's header",
		header,
		chromedp.Evaluate(`[...document.querySelectorAll("header nav a")].map(a => a.textContent + " " + a.getAttribute("href"))`, &nav),
	)
	wantSignedIn("/transfer", "aal2")
	if want := []string{"Home /", "Account /account", "Transfer /transfer", "Settings /ui/settings", "Dev mailbox /ui/mailbox"}; !slices.Equal(nav, want) {
		t.Errorf("the app's navigation is %q, want %q", nav, want)
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
		header,
		shot("settings"),
	)
	wantSignedIn("settings", "aal2")
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
	run("log out",
		chromedp.Navigate(d.appURL+"/account"),
		chromedp.WaitVisible(`#email`, chromedp.ByQuery),
		chromedp.Click(`//a[text()="Log out"]`, chromedp.BySearch),
		waitLocation(d.appURL+"/"),
		chromedp.WaitVisible(`#who`, chromedp.ByQuery),
		header,
	)
	wantSignedOut("home page after logout")
	run("mailbox after logout",
		chromedp.Navigate(d.appURL+"/ui/mailbox"),
		chromedp.WaitVisible(`#who`, chromedp.ByQuery),
		header,
	)
	wantSignedOut("mailbox after logout")
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

	// 9. The app at the -allow-origin origin: a login flow returning to it sends the signed-in
	// browser straight there, and the session cookie comes along.
	var ownEmail, ownAAL string
	run("own app at another origin",
		chromedp.Navigate(loginFor(ownApp.URL+"/landing")),
		chromedp.WaitVisible(`#own-email`, chromedp.ByQuery),
		chromedp.Location(&landed),
		chromedp.Text(`#own-email`, &ownEmail, chromedp.ByQuery),
		chromedp.Text(`#own-aal`, &ownAAL, chromedp.ByQuery),
		shot("own-app"),
	)
	if landed != ownApp.URL+"/landing" || ownEmail != email || ownAAL != "aal2" {
		t.Errorf("own app: at %s showing %q %q, want %s/landing showing %s aal2", landed, ownEmail, ownAAL, ownApp.URL, email)
	}
}

// waitLocation waits until the browser is at want.
func waitLocation(want string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		var loc string
		for {
			if err := chromedp.Location(&loc).Do(ctx); err != nil {
				return err
			}
			if loc == want {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("browser at %s, want %s: %w", loc, want, ctx.Err())
			case <-tick.C:
			}
		}
	})
}

// whoami asks Kratos for the session of the request's cookies and returns its email and AAL,
// or what went wrong.
func whoami(r *http.Request, kratos string) (email, aal string) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, kratos+"/sessions/whoami", nil)
	if err != nil {
		return err.Error(), ""
	}
	req.Header.Set("Cookie", r.Header.Get("Cookie"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error(), ""
	}
	defer res.Body.Close()
	var s struct {
		AAL      string `json:"authenticator_assurance_level"`
		Identity struct {
			Traits struct {
				Email string `json:"email"`
			} `json:"traits"`
		} `json:"identity"`
	}
	if res.StatusCode != http.StatusOK {
		return "whoami: " + res.Status, ""
	}
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		return err.Error(), ""
	}
	return s.Identity.Traits.Email, s.AAL
}

// requestRecoveryCode asks Kratos (API flow) to email email a recovery code.
func requestRecoveryCode(t *testing.T, kratos, email string) {
	t.Helper()
	var f struct {
		UI struct {
			Action string `json:"action"`
		} `json:"ui"`
	}
	res, err := http.Get(kratos + "/self-service/recovery/api")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(res.Body).Decode(&f)
	res.Body.Close()
	if err != nil || f.UI.Action == "" {
		t.Fatalf("recovery flow: %v (%s)", err, res.Status)
	}
	body, _ := json.Marshal(map[string]string{"method": "code", "email": email})
	res, err = http.Post(f.UI.Action, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("recovery code for %s: %s", email, res.Status)
	}
}

// startOnFreePorts starts the demo on loopback ports that were free a moment ago. Another
// process may take one of them before the demo or Kratos binds it, so on such a clash it tries
// again with fresh ports, three times at most (as internal/kratostest's Start does).
func startOnFreePorts(ctx context.Context, t *testing.T, start func(context.Context, options) (*demo, error), o options) (*demo, error) {
	used := map[string]bool{}
	for attempt := 1; ; attempt++ {
		addrs := freeAddrs(t, 3, used)
		o.addr, o.kratosPublic, o.kratosAdmin = addrs[0], addrs[1], addrs[2]
		d, err := start(ctx, o)
		if err == nil || attempt == 3 || ctx.Err() != nil || !strings.Contains(err.Error(), "already in use") {
			return d, err
		}
		t.Logf("starting the demo, attempt %d: a port was taken (%v); trying other ports", attempt, err)
	}
}

// freeAddrs returns n distinct loopback addresses with ports that were free a moment ago and
// are not in used (which it extends): all n listeners stay open until all are chosen, as the
// kernel may hand a port just closed out again.
func freeAddrs(t *testing.T, n int, used map[string]bool) []string {
	t.Helper()
	var addrs []string
	for len(addrs) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if a := l.Addr().String(); !used[a] {
			used[a] = true
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// testWriter sends the demo's output to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var _ io.Writer = testWriter{}
