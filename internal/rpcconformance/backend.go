package rpcconformance

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/orymfa/orymfa/internal/kratostest"
	"github.com/orymfa/orymfa/orymfatest"
)

// project is the kind of Ory project a scenario needs.
type project int

const (
	// codeMFA: one-time codes as second factor; in Kratos v1.3.1 every identity has one, so
	// whoami answers 403 session_aal2_required for every aal1 session (Strict).
	codeMFA project = iota
	// totp: users start without a second factor and enroll TOTP in settings (Strict).
	totp
)

// oryBackend is the Ory a scenario runs against: a real Kratos project, or the test kit
// playing one, with the same assertions (as in package conformance).
type oryBackend interface {
	url() string
	// signUp creates a user with a password and its aal1 session token. On a codeMFA project
	// the user has a second factor from the start; otherwise none yet.
	signUp(t *testing.T) *user
	// stepUp proves the second factor on token's session (a one-time code or TOTP).
	stepUp(t *testing.T, u *user, token string)
	// refresh proves the second factor again on an aal2 session.
	refresh(t *testing.T, u *user, token string)
	// enroll sets up TOTP in the settings flow; the same session becomes aal2.
	enroll(t *testing.T, u *user, token string)
	// session is what whoami says about token, read directly.
	session(t *testing.T, token string) whoamiSession
	// browserCookie signs a new user up in a browser, steps the browser's session up to
	// aal2, and returns its Ory session cookie ("name=value").
	browserCookie(t *testing.T) (cookie, identityID string)
}

type user struct {
	email  string
	token  string
	secret string
	kit    *orymfatest.Identity
}

type kratosBackend struct {
	p    *kratostest.Project
	kind project
}

func (k kratosBackend) url() string { return k.p.PublicURL }

func (k kratosBackend) signUp(t *testing.T) *user {
	t.Helper()
	u := &user{email: kratostest.NewEmail()}
	token, err := k.p.RegisterAPI(ctx(t), u.email, kratostest.Password)
	must(t, err)
	u.token = token
	return u
}

func (k kratosBackend) stepUp(t *testing.T, u *user, token string) {
	t.Helper()
	if k.kind == codeMFA {
		must(t, k.p.StepUpCodeAPI(ctx(t), token, u.email))
		return
	}
	must(t, k.p.StepUpTOTPAPI(ctx(t), token, u.secret))
}

func (k kratosBackend) refresh(t *testing.T, u *user, token string) {
	t.Helper()
	if k.kind == codeMFA {
		must(t, k.p.RefreshCodeAPI(ctx(t), token, u.email))
		return
	}
	must(t, k.p.RefreshTOTPAPI(ctx(t), token, u.secret))
}

func (k kratosBackend) enroll(t *testing.T, u *user, token string) {
	t.Helper()
	secret, err := k.p.EnrollTOTPAPI(ctx(t), token)
	must(t, err)
	u.secret = secret
}

func (k kratosBackend) session(t *testing.T, token string) whoamiSession {
	t.Helper()
	status, body, err := k.p.Whoami(ctx(t), token)
	if err != nil || status != 200 {
		t.Fatalf("whoami: %d %s %v", status, body, err)
	}
	return decodeSession(t, body)
}

func (k kratosBackend) browserCookie(t *testing.T) (string, string) {
	t.Helper()
	b := k.p.NewBrowser()
	email := kratostest.NewEmail()
	must(t, b.Register(ctx(t), email, kratostest.Password))
	if k.kind == codeMFA {
		must(t, b.StepUpCode(ctx(t), email))
	} else {
		_, err := b.EnrollTOTP(ctx(t))
		must(t, err)
	}
	status, body, err := b.Whoami(ctx(t))
	if err != nil || status != 200 {
		t.Fatalf("browser whoami: %d %s %v", status, body, err)
	}
	c := b.SessionCookie()
	return c.Name + "=" + c.Value, decodeSession(t, body).Identity.ID
}

// kitBackend is the test kit playing a project of the given kind.
type kitBackend struct {
	srv  *orymfatest.Server
	kind project
}

func newKitBackend(t *testing.T, kind project) kitBackend {
	return kitBackend{srv: orymfatest.NewServer(t), kind: kind}
}

func (k kitBackend) url() string { return k.srv.URL }

func (k kitBackend) signUp(t *testing.T) *user {
	var opts []orymfatest.IdentityOption
	if k.kind == codeMFA {
		opts = append(opts, orymfatest.WithSecondFactor())
	}
	id := k.srv.NewIdentity(opts...)
	return &user{kit: id, token: k.srv.SignIn(id, orymfatest.AAL1)}
}

func (k kitBackend) stepUp(t *testing.T, _ *user, token string)  { k.srv.StepUp(token) }
func (k kitBackend) refresh(t *testing.T, _ *user, token string) { k.srv.StepUp(token) }
func (k kitBackend) enroll(t *testing.T, _ *user, token string)  { k.srv.StepUp(token) }

func (k kitBackend) session(t *testing.T, token string) whoamiSession {
	b, err := json.Marshal(k.srv.Session(token))
	must(t, err)
	return decodeSession(t, b)
}

func (k kitBackend) browserCookie(t *testing.T) (string, string) {
	u := k.signUp(t)
	k.srv.StepUp(u.token)
	c := k.srv.Cookie(u.token)
	return c.Name + "=" + c.Value, u.kit.ID
}

// whoamiSession is what the test itself reads from Ory to compare with the handler.
type whoamiSession struct {
	Identity struct {
		ID string `json:"id"`
	} `json:"identity"`
	Methods []struct {
		AAL         string    `json:"aal"`
		CompletedAt time.Time `json:"completed_at"`
	} `json:"authentication_methods"`
}

func decodeSession(t *testing.T, body []byte) whoamiSession {
	t.Helper()
	var s whoamiSession
	must(t, json.Unmarshal(body, &s))
	return s
}

// secondFactorAt is when the session last proved an aal2 method.
func (s whoamiSession) secondFactorAt() time.Time {
	var at time.Time
	for _, m := range s.Methods {
		if m.AAL == "aal2" && m.CompletedAt.After(at) {
			at = m.CompletedAt
		}
	}
	return at
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
