package conformance

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

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
	// lax: like totp, but whoami accepts aal1 sessions (required_aal: aal1).
	lax
)

// oryBackend is the Ory a scenario runs against: a real Kratos project, or the test kit
// playing one. The same scenario, with the same assertions, runs against both, which is how
// the kit is held to Kratos's answers.
type oryBackend interface {
	// url is the public URL: where the verifier asks and where denials point.
	url() string
	// adminURL is the admin API's URL (Kratos's own; for the kit a server that answers
	// whoami as Kratos's admin API does).
	adminURL(t *testing.T) string
	// signUp creates a user with a password and returns it with its aal1 session token. On a
	// codeMFA project the user has a second factor from the start; otherwise none yet.
	signUp(t *testing.T) *user
	// login signs the user in again with the password: a new aal1 session token.
	login(t *testing.T, u *user) string
	// stepUp proves the second factor on token's session (a one-time code or TOTP).
	stepUp(t *testing.T, u *user, token string)
	// refresh proves the second factor again on an aal2 session.
	refresh(t *testing.T, u *user, token string)
	// enroll sets up TOTP in the settings flow; the same session becomes aal2.
	enroll(t *testing.T, u *user, token string)
	// session is what whoami says about token, read directly, not through the app.
	session(t *testing.T, token string) whoamiSession
	// newBrowser signs a user up in a browser and returns it.
	newBrowser(t *testing.T) browserUser
}

// user is a signed-up identity.
type user struct {
	email  string
	token  string               // the sign-up session
	secret string               // the TOTP secret once enrolled (Kratos)
	kit    *orymfatest.Identity // the kit's identity
}

// browserUser is a signed-up user's browser.
type browserUser interface {
	// cookie is the browser's Ory session cookie as a Cookie header ("name=value").
	cookie(t *testing.T) string
	stepUp(t *testing.T)
	enroll(t *testing.T)
}

// kratosBackend is a real Kratos project.
type kratosBackend struct {
	p    *kratostest.Project
	kind project
}

func (k kratosBackend) url() string { return k.p.PublicURL }

func (k kratosBackend) adminURL(*testing.T) string { return k.p.AdminURL }

func (k kratosBackend) signUp(t *testing.T) *user {
	t.Helper()
	u := &user{email: kratostest.NewEmail()}
	token, err := k.p.RegisterAPI(ctx(t), u.email, kratostest.Password)
	must(t, err)
	u.token = token
	return u
}

func (k kratosBackend) login(t *testing.T, u *user) string {
	t.Helper()
	token, err := k.p.LoginAPI(ctx(t), u.email, kratostest.Password)
	must(t, err)
	return token
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

func (k kratosBackend) newBrowser(t *testing.T) browserUser {
	t.Helper()
	b := &kratosBrowser{k: k, b: k.p.NewBrowser(), email: kratostest.NewEmail()}
	must(t, b.b.Register(ctx(t), b.email, kratostest.Password))
	return b
}

type kratosBrowser struct {
	k     kratosBackend
	b     *kratostest.Browser
	email string
}

func (b *kratosBrowser) cookie(t *testing.T) string {
	t.Helper()
	c := b.b.SessionCookie()
	if c == nil {
		t.Fatal("the browser has no Kratos session cookie")
	}
	return c.Name + "=" + c.Value
}

func (b *kratosBrowser) stepUp(t *testing.T) {
	t.Helper()
	must(t, b.b.StepUpCode(ctx(t), b.email))
}

func (b *kratosBrowser) enroll(t *testing.T) {
	t.Helper()
	_, err := b.b.EnrollTOTP(ctx(t))
	must(t, err)
}

// kitBackend is the test kit playing a project of the given kind.
type kitBackend struct {
	srv  *orymfatest.Server
	kind project
}

func newKitBackend(t *testing.T, kind project) kitBackend {
	srv := orymfatest.NewServer(t)
	srv.SetLax(kind == lax)
	return kitBackend{srv: srv, kind: kind}
}

func (k kitBackend) url() string { return k.srv.URL }

// adminURL serves whoami as Kratos v1.3.1's admin API does (measured): a 307 to
// /admin/sessions/whoami with a small HTML body.
func (k kitBackend) adminURL(t *testing.T) string {
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin"+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(admin.Close)
	return admin.URL
}

func (k kitBackend) signUp(t *testing.T) *user {
	t.Helper()
	var opts []orymfatest.IdentityOption
	if k.kind == codeMFA {
		opts = append(opts, orymfatest.WithSecondFactor())
	}
	id := k.srv.NewIdentity(opts...)
	return &user{kit: id, token: k.srv.SignIn(id, orymfatest.AAL1)}
}

func (k kitBackend) login(t *testing.T, u *user) string          { return k.srv.SignIn(u.kit, orymfatest.AAL1) }
func (k kitBackend) stepUp(t *testing.T, _ *user, token string)  { k.srv.StepUp(token) }
func (k kitBackend) refresh(t *testing.T, _ *user, token string) { k.srv.StepUp(token) }
func (k kitBackend) enroll(t *testing.T, _ *user, token string)  { k.srv.StepUp(token) }

func (k kitBackend) session(t *testing.T, token string) whoamiSession {
	t.Helper()
	b, err := json.Marshal(k.srv.Session(token))
	must(t, err)
	return decodeSession(t, b)
}

func (k kitBackend) newBrowser(t *testing.T) browserUser {
	return &kitBrowser{k: k, u: k.signUp(t)}
}

type kitBrowser struct {
	k kitBackend
	u *user
}

func (b *kitBrowser) cookie(t *testing.T) string {
	c := b.k.srv.Cookie(b.u.token)
	return c.Name + "=" + c.Value
}
func (b *kitBrowser) stepUp(t *testing.T) { b.k.srv.StepUp(b.u.token) }
func (b *kitBrowser) enroll(t *testing.T) { b.k.srv.StepUp(b.u.token) }
