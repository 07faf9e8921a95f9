package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/orymfa/orymfa/internal/kratostest"
)

// Kratos runs in a helper process (this binary again, with helperEnv set): kratostest keeps
// everything Kratos prints in memory (one to two KiB per whoami call), which in the soak's own
// process would look like a heap leak of the middleware. The helper starts a TOTP project with
// WithPersistentStore, creates the users, prints their credentials as one JSON line, and then
// obeys "stop", "restart" and "close" on its stdin, answering one JSON line each. It closes
// the project when its stdin ends, so Kratos never outlives the soak.

// helperEnv carries the helper's userCounts as JSON; its presence makes main (or TestMain)
// run the helper instead.
const helperEnv = "ORYMFA_SOAK_KRATOS_HELPER"

// Client kinds: what a soak client presents and what the guard must answer while Ory is up.
const (
	kindAAL2Token  = "aal2-token"  // X-Session-Token or Bearer of an aal2 session: 200
	kindAAL2Cookie = "aal2-cookie" // ory_kratos_session of an aal2 browser session: 200
	kindAAL1Token  = "aal1-token"  // password-only session of a user with TOTP: 403 step-up
	kindAAL1Cookie = "aal1-cookie" // the same from a browser: 303 to the aal2 login
	kindLogout     = "logout"      // an aal2 token the soak revokes mid-run: 200, then 401
	kindUnknown    = "unknown"     // a random token Kratos never issued: 401
)

// userCounts is how many clients of each kind the helper creates.
type userCounts struct {
	AAL2Tokens  int `json:"aal2_tokens"`
	AAL2Cookies int `json:"aal2_cookies"`
	AAL1Tokens  int `json:"aal1_tokens"`
	AAL1Cookies int `json:"aal1_cookies"`
	Logouts     int `json:"logouts"`
}

// clientSpec is one client's credential as the helper made it.
type clientSpec struct {
	Kind       string `json:"kind"`
	Token      string `json:"token,omitempty"`
	Cookie     string `json:"cookie,omitempty"` // ory_kratos_session value
	IdentityID string `json:"identity_id"`
	SessionID  string `json:"session_id,omitempty"` // unknown for aal1 sessions (whoami says 403)
}

// setupMsg is the helper's first line.
type setupMsg struct {
	PublicURL string        `json:"public_url"`
	Clients   []clientSpec  `json:"clients"`
	Took      time.Duration `json:"took"`
	Err       string        `json:"err,omitempty"`
}

// replyMsg answers a command.
type replyMsg struct {
	Err string `json:"err,omitempty"`
}

// kratosProc is the parent's handle on the helper.
type kratosProc struct {
	setupMsg
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Scanner
	stderr *bytes.Buffer
	mu     sync.Mutex
	closed bool
}

// startKratos runs the helper and waits for its setup line; ctx bounds the wait.
func startKratos(ctx context.Context, counts userCounts) (*kratosProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	arg, _ := json.Marshal(counts)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+string(arg))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	k := &kratosProc{cmd: cmd, stdin: stdin, stderr: &bytes.Buffer{}}
	cmd.Stderr = &lockedWriter{w: k.stderr}
	k.out = bufio.NewScanner(stdout)
	k.out.Buffer(make([]byte, 0, 64<<10), 16<<20)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		if !k.out.Scan() {
			done <- fmt.Errorf("kratos helper exited before its setup: %v", k.out.Err())
			return
		}
		done <- json.Unmarshal(k.out.Bytes(), &k.setupMsg)
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil && k.Err != "" {
		err = errors.New(k.Err)
	}
	if err != nil {
		k.close()
		return nil, fmt.Errorf("start kratos: %w\n--- helper stderr ---\n%s", err, k.stderrText())
	}
	return k, nil
}

// do sends one command and waits for the answer.
func (k *kratosProc) do(command string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, err := io.WriteString(k.stdin, command+"\n"); err != nil {
		return fmt.Errorf("kratos helper %s: %w", command, err)
	}
	if !k.out.Scan() {
		return fmt.Errorf("kratos helper %s: no answer (%v)\n%s", command, k.out.Err(), k.stderrText())
	}
	var r replyMsg
	if err := json.Unmarshal(k.out.Bytes(), &r); err != nil {
		return fmt.Errorf("kratos helper %s: %w", command, err)
	}
	if r.Err != "" {
		return fmt.Errorf("kratos helper %s: %s", command, r.Err)
	}
	return nil
}

// Stop kills Kratos (kratostest's Project.Stop) and returns once it has exited.
func (k *kratosProc) Stop() error { return k.do("stop") }

// Restart starts Kratos again on the same URLs and returns once it is ready.
func (k *kratosProc) Restart() error { return k.do("restart") }

// close ends the helper, which closes the project, and waits for it.
func (k *kratosProc) close() {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	k.closed = true
	k.mu.Unlock()
	_ = k.stdin.Close()
	waited := make(chan struct{})
	go func() {
		_ = k.cmd.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		_ = k.cmd.Process.Kill()
		<-waited
	}
}

func (k *kratosProc) stderrText() string {
	if w, ok := k.cmd.Stderr.(*lockedWriter); ok {
		return w.String()
	}
	return ""
}

// lockedWriter is a bytes.Buffer the helper's stderr copier writes while we may read it.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// helperMain is the helper process; it returns the exit code.
func helperMain(arg string) int {
	var counts userCounts
	if err := json.Unmarshal([]byte(arg), &counts); err != nil {
		fmt.Fprintln(os.Stderr, "soak helper:", err)
		return 2
	}
	out := json.NewEncoder(os.Stdout)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	start := time.Now()
	p, err := kratostest.Start(ctx, kratostest.TOTP, kratostest.WithPersistentStore())
	if err != nil {
		cancel()
		_ = out.Encode(setupMsg{Err: err.Error()})
		return 1
	}
	defer p.Close()
	clients, err := makeClients(ctx, p, counts)
	cancel()
	if err != nil {
		_ = out.Encode(setupMsg{Err: err.Error() + "\n--- kratos log (tail) ---\n" + tail(p.Log(), 4000)})
		return 1
	}
	if err := out.Encode(setupMsg{PublicURL: p.PublicURL, Clients: clients, Took: time.Since(start)}); err != nil {
		return 1
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var r replyMsg
		switch cmd := strings.TrimSpace(in.Text()); cmd {
		case "stop":
			p.Stop()
		case "restart":
			rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Minute)
			if err := p.Restart(rctx); err != nil {
				r.Err = err.Error()
			}
			rcancel()
		case "close":
			return 0
		default:
			r.Err = "unknown command " + cmd
		}
		if err := out.Encode(r); err != nil {
			return 1
		}
	}
	return 0
}

// makeClients registers the users and opens their sessions on the TOTP project:
//   - aal2 tokens and logout tokens: API registration, then TOTP enrollment, which upgrades
//     the same session to aal2;
//   - aal2 cookies: the same through the browser flows;
//   - aal1 tokens and cookies: a new password login (API, or browser: 422 with the aal1
//     cookie set) of a user who enrolled TOTP, whom Kratos then answers 403
//     session_aal2_required.
func makeClients(ctx context.Context, p *kratostest.Project, n userCounts) ([]clientSpec, error) {
	type user struct{ email, identityID string }
	var (
		clients []clientSpec
		users   []user
	)
	sess := func(status int, body []byte) (identityID, sessionID string, err error) {
		var s struct {
			ID       string `json:"id"`
			AAL      string `json:"authenticator_assurance_level"`
			Identity struct {
				ID string `json:"id"`
			} `json:"identity"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &s) != nil || s.AAL != "aal2" || s.Identity.ID == "" {
			return "", "", fmt.Errorf("whoami after enrollment: %d %.300s", status, body)
		}
		return s.Identity.ID, s.ID, nil
	}
	apiUser := func(kind string) error {
		email := kratostest.NewEmail()
		token, err := p.RegisterAPI(ctx, email, kratostest.Password)
		if err != nil {
			return err
		}
		if _, err := p.EnrollTOTPAPI(ctx, token); err != nil {
			return err
		}
		status, body, err := p.Whoami(ctx, token)
		if err != nil {
			return err
		}
		id, sid, err := sess(status, body)
		if err != nil {
			return err
		}
		clients = append(clients, clientSpec{Kind: kind, Token: token, IdentityID: id, SessionID: sid})
		users = append(users, user{email, id})
		return nil
	}
	for range n.AAL2Tokens {
		if err := apiUser(kindAAL2Token); err != nil {
			return nil, err
		}
	}
	for range n.Logouts {
		if err := apiUser(kindLogout); err != nil {
			return nil, err
		}
	}
	for range n.AAL2Cookies {
		b := p.NewBrowser()
		if err := b.Register(ctx, kratostest.NewEmail(), kratostest.Password); err != nil {
			return nil, err
		}
		if _, err := b.EnrollTOTP(ctx); err != nil {
			return nil, err
		}
		status, body, err := b.Whoami(ctx)
		if err != nil {
			return nil, err
		}
		id, sid, err := sess(status, body)
		if err != nil {
			return nil, err
		}
		c := b.SessionCookie()
		if c == nil {
			return nil, errors.New("browser has no session cookie after enrollment")
		}
		clients = append(clients, clientSpec{Kind: kindAAL2Cookie, Cookie: c.Value, IdentityID: id, SessionID: sid})
	}
	if (n.AAL1Tokens > 0 || n.AAL1Cookies > 0) && len(users) == 0 {
		return nil, errors.New("aal1 sessions need at least one aal2 token user (a user with TOTP)")
	}
	for i := range n.AAL1Tokens {
		u := users[i%len(users)]
		token, err := p.LoginAPI(ctx, u.email, kratostest.Password)
		if err != nil {
			return nil, err
		}
		if status, body, err := p.Whoami(ctx, token); err != nil || status != http.StatusForbidden || kratostest.ErrorID(body) != "session_aal2_required" {
			return nil, fmt.Errorf("aal1 token: whoami %d %.300s %v, want 403 session_aal2_required", status, body, err)
		}
		clients = append(clients, clientSpec{Kind: kindAAL1Token, Token: token, IdentityID: u.identityID})
	}
	for i := range n.AAL1Cookies {
		u := users[i%len(users)]
		b := p.NewBrowser()
		stepUp, err := b.Login(ctx, u.email, kratostest.Password)
		if err != nil {
			return nil, err
		}
		c := b.SessionCookie()
		if stepUp == "" || c == nil {
			return nil, fmt.Errorf("aal1 cookie: browser login of a TOTP user gave no step-up (%q) or no cookie", stepUp)
		}
		clients = append(clients, clientSpec{Kind: kindAAL1Cookie, Cookie: c.Value, IdentityID: u.identityID})
	}
	return clients, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
