package kratostest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// One process per project, shared by all tests (see the package doc).
var codeMFA, totpProject, codeMFALax *Project

func TestMain(m *testing.M) {
	if os.Getenv(orphanEnv) != "" {
		os.Exit(orphanParent()) // TestKratosDiesWithItsParent's child
	}
	os.Exit(run(m))
}

// orphanEnv makes the test binary start a project, print its Kratos's pid and wait to be
// killed.
const orphanEnv = "KRATOSTEST_ORPHAN_PARENT"

func orphanParent() int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := Start(ctx, TOTP)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(p.cmd.Process.Pid)
	select {} // until killed: no cleanup runs
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a first run may build Kratos
	defer cancel()
	// Start the projects side by side: each costs about a second.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	start := func(i int, dst **Project, kind Kind, opts ...Option) {
		wg.Go(func() { *dst, errs[i] = Start(ctx, kind, opts...) })
	}
	start(0, &codeMFA, CodeMFA)
	start(1, &totpProject, TOTP)
	start(2, &codeMFALax, CodeMFA, WithLax())
	wg.Wait()
	err := errors.Join(errs...)
	for _, p := range []*Project{codeMFA, totpProject, codeMFALax} {
		if p != nil {
			defer p.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type session struct {
	AAL             string    `json:"authenticator_assurance_level"`
	AuthenticatedAt time.Time `json:"authenticated_at"`
	Methods         []struct {
		Method      string    `json:"method"`
		AAL         string    `json:"aal"`
		CompletedAt time.Time `json:"completed_at"`
	} `json:"authentication_methods"`
}

// wantWhoami asserts whoami's status and, for 200, the AAL; for 403 the error id.
func wantWhoami(t *testing.T, p *Project, status int, body []byte, err error, wantStatus int, want string) session {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if status != wantStatus {
		t.Fatalf("whoami: status %d, want %d: %s\n%s", status, wantStatus, body, p.Log()[max(0, len(p.Log())-3000):])
	}
	var s session
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatal(err)
		}
		if s.AAL != want {
			t.Fatalf("whoami: aal %q, want %q", s.AAL, want)
		}
	} else if id := ErrorID(body); id != want {
		t.Fatalf("whoami: error.id %q, want %q: %s", id, want, body)
	}
	return s
}

func TestCodeMFAAPI(t *testing.T) {
	ctx, p, email := testCtx(t), codeMFA, NewEmail()

	token, err := p.RegisterAPI(ctx, email, Password)
	if err != nil {
		t.Fatal(err)
	}
	// Every identity has the code factor, so the aal1 registration session is not enough (Strict).
	st, b, err := p.Whoami(ctx, token)
	wantWhoami(t, p, st, b, err, http.StatusForbidden, "session_aal2_required")
	if ErrorID(b) != "session_aal2_required" || !strings.Contains(string(b), "redirect_browser_to") {
		t.Fatalf("403 body: %s", b)
	}

	token, err = p.LoginAPI(ctx, email, Password)
	if err != nil {
		t.Fatal(err)
	}
	st, b, err = p.Whoami(ctx, token)
	wantWhoami(t, p, st, b, err, http.StatusForbidden, "session_aal2_required")

	if err := p.StepUpCodeAPI(ctx, token, email); err != nil {
		t.Fatal(err)
	}
	st, b, err = p.Whoami(ctx, token) // the same token, now aal2
	s1 := wantWhoami(t, p, st, b, err, http.StatusOK, "aal2")

	// A second ?aal=aal2 login on an aal2 session is refused; refresh is the way to re-prove.
	if err := p.StepUpCodeAPI(ctx, token, email); err == nil || !strings.Contains(err.Error(), "session_already_available") {
		t.Fatalf("step-up on aal2 session: err %v, want session_already_available", err)
	}
	if err := p.RefreshCodeAPI(ctx, token, email); err != nil {
		t.Fatal(err)
	}
	st, b, err = p.Whoami(ctx, token)
	s2 := wantWhoami(t, p, st, b, err, http.StatusOK, "aal2")
	if !s2.AuthenticatedAt.After(s1.AuthenticatedAt) {
		t.Fatalf("refresh did not move authenticated_at: %v then %v", s1.AuthenticatedAt, s2.AuthenticatedAt)
	}
}

func TestTOTPAPI(t *testing.T) {
	ctx, p, email := testCtx(t), totpProject, NewEmail()

	token, err := p.RegisterAPI(ctx, email, Password)
	if err != nil {
		t.Fatal(err)
	}
	// No second factor yet: aal1 is the highest available, so Strict whoami says 200.
	st, b, err := p.Whoami(ctx, token)
	wantWhoami(t, p, st, b, err, http.StatusOK, "aal1")

	secret, err := p.EnrollTOTPAPI(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	// Enrolling upgrades the same session at once.
	st, b, err = p.Whoami(ctx, token)
	wantWhoami(t, p, st, b, err, http.StatusOK, "aal2")

	token, err = p.LoginAPI(ctx, email, Password)
	if err != nil {
		t.Fatal(err)
	}
	st, b, err = p.Whoami(ctx, token)
	wantWhoami(t, p, st, b, err, http.StatusForbidden, "session_aal2_required")

	if err := p.StepUpTOTPAPI(ctx, token, secret); err != nil {
		t.Fatal(err)
	}
	st, b, err = p.Whoami(ctx, token)
	s1 := wantWhoami(t, p, st, b, err, http.StatusOK, "aal2")

	if err := p.RefreshTOTPAPI(ctx, token, secret); err != nil {
		t.Fatal(err)
	}
	st, b, err = p.Whoami(ctx, token)
	s2 := wantWhoami(t, p, st, b, err, http.StatusOK, "aal2")
	if !s2.AuthenticatedAt.After(s1.AuthenticatedAt) {
		t.Fatalf("refresh did not move authenticated_at: %v then %v", s1.AuthenticatedAt, s2.AuthenticatedAt)
	}
}

func TestCodeMFABrowser(t *testing.T) {
	ctx, p, email := testCtx(t), codeMFA, NewEmail()

	reg := p.NewBrowser()
	if err := reg.Register(ctx, email, Password); err != nil {
		t.Fatal(err)
	}
	st, b, err := reg.Whoami(ctx)
	wantWhoami(t, p, st, b, err, http.StatusForbidden, "session_aal2_required")

	br := p.NewBrowser()
	stepUp, err := br.Login(ctx, email, Password)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stepUp, "/self-service/login/browser?aal=aal2") {
		t.Fatalf("login: step-up URL %q, want the aal2 login", stepUp)
	}
	aal1 := br.SessionCookie()
	if aal1 == nil {
		t.Fatal("no session cookie after login")
	}
	st, b, err = p.WhoamiCookie(ctx, aal1)
	wantWhoami(t, p, st, b, err, http.StatusForbidden, "session_aal2_required")

	if err := br.StepUpCode(ctx, email); err != nil {
		t.Fatal(err)
	}
	aal2 := br.SessionCookie()
	if aal2 == nil || aal2.Value == aal1.Value {
		t.Fatalf("step-up did not change the session cookie")
	}
	st, b, err = p.WhoamiCookie(ctx, aal2)
	wantWhoami(t, p, st, b, err, http.StatusOK, "aal2")

	if err := br.RefreshCode(ctx, email); err != nil {
		t.Fatal(err)
	}
	st, b, err = br.Whoami(ctx)
	wantWhoami(t, p, st, b, err, http.StatusOK, "aal2")
}

func TestTOTPBrowser(t *testing.T) {
	ctx, p, email := testCtx(t), totpProject, NewEmail()

	br := p.NewBrowser()
	if err := br.Register(ctx, email, Password); err != nil {
		t.Fatal(err)
	}
	st, b, err := br.Whoami(ctx)
	wantWhoami(t, p, st, b, err, http.StatusOK, "aal1")

	secret, err := br.EnrollTOTP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, b, err = br.Whoami(ctx)
	wantWhoami(t, p, st, b, err, http.StatusOK, "aal2")

	br = p.NewBrowser()
	stepUp, err := br.Login(ctx, email, Password)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stepUp, "aal=aal2") {
		t.Fatalf("login: step-up URL %q, want the aal2 login", stepUp)
	}
	st, b, err = br.Whoami(ctx)
	wantWhoami(t, p, st, b, err, http.StatusForbidden, "session_aal2_required")

	if err := br.StepUpTOTP(ctx, secret); err != nil {
		t.Fatal(err)
	}
	st, b, err = br.Whoami(ctx)
	wantWhoami(t, p, st, b, err, http.StatusOK, "aal2")

	if err := br.RefreshTOTP(ctx, secret); err != nil {
		t.Fatal(err)
	}
	st, b, err = br.Whoami(ctx)
	wantWhoami(t, p, st, b, err, http.StatusOK, "aal2")
}

func TestTOTPBrowserLoginWithoutSecondFactor(t *testing.T) {
	ctx, p, email := testCtx(t), totpProject, NewEmail()
	if _, err := p.RegisterAPI(ctx, email, Password); err != nil {
		t.Fatal(err)
	}
	br := p.NewBrowser()
	stepUp, err := br.Login(ctx, email, Password)
	if err != nil {
		t.Fatal(err)
	}
	if stepUp != "" {
		t.Fatalf("login of a user without 2nd factor pointed at %q", stepUp)
	}
	st, b, err := p.WhoamiCookie(ctx, br.SessionCookie())
	wantWhoami(t, p, st, b, err, http.StatusOK, "aal1")
}

func TestLax(t *testing.T) {
	ctx, p, email := testCtx(t), codeMFALax, NewEmail()
	token, err := p.RegisterAPI(ctx, email, Password)
	if err != nil {
		t.Fatal(err)
	}
	// Lax: whoami accepts aal1 although the identity has a second factor.
	st, b, err := p.Whoami(ctx, token)
	wantWhoami(t, p, st, b, err, http.StatusOK, "aal1")
	if err := p.StepUpCodeAPI(ctx, token, email); err != nil {
		t.Fatal(err)
	}
	st, b, err = p.Whoami(ctx, token)
	wantWhoami(t, p, st, b, err, http.StatusOK, "aal2")
}

func TestProxyCountsWhoami(t *testing.T) {
	ctx, p := testCtx(t), totpProject
	br := p.NewBrowser()
	if err := br.Register(ctx, NewEmail(), Password); err != nil {
		t.Fatal(err)
	}
	p.ResetWhoamiCalls()

	cookie := SessionCookieName + "=" + br.SessionCookie().Value + "; app_pref=dark"
	for range 2 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.ProxyURL+"/sessions/whoami", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Cookie", cookie)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("whoami through proxy: %d", res.StatusCode)
		}
	}
	// Other paths go through but are not counted.
	res, err := http.Get(p.ProxyURL + "/health/alive")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	if n := p.WhoamiCalls(); n != 2 {
		t.Fatalf("WhoamiCalls = %d, want 2", n)
	}
	if got := p.LastWhoamiCookie(); got != cookie {
		t.Fatalf("LastWhoamiCookie = %q, want %q", got, cookie)
	}
	p.ResetWhoamiCalls()
	if p.WhoamiCalls() != 0 || p.LastWhoamiCookie() != "" {
		t.Fatal("reset did not clear the count")
	}
}

func TestWaitForCodeHonoursContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := codeMFA.WaitForCode(ctx, NewEmail()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}

func TestNewEmailUnique(t *testing.T) {
	if a, b := NewEmail(), NewEmail(); a == b {
		t.Fatalf("NewEmail repeated %q", a)
	}
}

// TestStartRetriesPortClash makes the first port Kratos gets a taken one: Kratos exits with
// "address already in use" and Start must try again with fresh ports.
func TestStartRetriesPortClash(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	calls := 0
	pickPort = func() (int, error) {
		calls++
		if calls == 1 {
			return taken.Addr().(*net.TCPAddr).Port, nil
		}
		return freePort()
	}
	defer func() { pickPort = freePort }()

	p, err := Start(testCtx(t), TOTP)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if calls != 4 {
		t.Fatalf("picked %d ports, want 4 (two attempts)", calls)
	}
	st, b, err := p.Whoami(testCtx(t), "")
	wantWhoami(t, p, st, b, err, http.StatusUnauthorized, "")
}

// TestStartFailsFastWhenKratosExits: a binary that exits at once must not make Start wait for
// its deadline.
func TestStartFailsFastWhenKratosExits(t *testing.T) {
	t.Setenv("ORYMFA_KRATOS_BIN", "/bin/false")
	begin := time.Now()
	if _, err := Start(testCtx(t), CodeMFA); err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Fatalf("err = %v, want an early exit", err)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Fatalf("Start took %v to notice the exit", d)
	}
}

// With a persistent store, a session survives Stop and Restart on the same URL, and while
// Kratos is stopped nothing answers there.
func TestStopAndRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := Start(ctx, TOTP, WithPersistentStore())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	token, err := p.RegisterAPI(ctx, NewEmail(), Password)
	if err != nil {
		t.Fatal(err)
	}
	if status, body, err := p.Whoami(ctx, token); err != nil || status != 200 {
		t.Fatalf("whoami: %d %s %v", status, body, err)
	}
	p.Stop()
	p.Stop() // twice is fine
	if _, _, err := p.Whoami(ctx, token); err == nil {
		t.Fatal("whoami answered while Kratos was stopped")
	}
	if err := p.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if status, body, err := p.Whoami(ctx, token); err != nil || status != 200 || AAL(body) != "aal1" {
		t.Fatalf("after the restart: %d %s %v, want the same aal1 session", status, body, err)
	}
}
