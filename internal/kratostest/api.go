package kratostest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// apiAgent runs API flows (/self-service/…/api), authenticated by a session token if it has one.
type apiAgent struct {
	p     *Project
	token string
}

func (a apiAgent) header() http.Header {
	h := http.Header{}
	if a.token != "" {
		h.Set("X-Session-Token", a.token)
	}
	return h
}

func (a apiAgent) initFlow(ctx context.Context, path string) (*flow, error) {
	kind, query, _ := strings.Cut(path, "?")
	url := a.p.PublicURL + "/self-service/" + kind + "/api"
	if query != "" {
		url += "?" + query
	}
	status, b, err := request(ctx, a.p.client, http.MethodGet, url, a.header(), nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, statusError("init "+path+" api flow", status, b)
	}
	return decodeFlow("init "+path+" api flow", status, b)
}

func (a apiAgent) submit(ctx context.Context, f *flow, body map[string]any) (int, []byte, error) {
	return request(ctx, a.p.client, http.MethodPost, f.UI.Action, a.header(), body)
}

// sessionToken reads session_token from a registration or login answer.
func sessionToken(what string, b []byte) (string, error) {
	var r struct {
		Token string `json:"session_token"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Token == "" {
		return "", statusError(what+": no session_token", http.StatusOK, b)
	}
	return r.Token, nil
}

// RegisterAPI creates an identity with a password through the API registration flow and
// returns its session token. The session is aal1 on both kinds of project; on CodeMFA whoami
// therefore answers 403 session_aal2_required for it until [Project.StepUpCodeAPI].
func (p *Project) RegisterAPI(ctx context.Context, email, password string) (string, error) {
	b, err := register(ctx, apiAgent{p: p}, email, password)
	if err != nil {
		return "", err
	}
	return sessionToken("register", b)
}

// LoginAPI logs in with a password through the API login flow and returns a new aal1 session
// token.
func (p *Project) LoginAPI(ctx context.Context, email, password string) (string, error) {
	status, b, err := loginPassword(ctx, apiAgent{p: p}, email, password)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", statusError("login", status, b)
	}
	return sessionToken("login", b)
}

// StepUpCodeAPI proves the second factor of token's session with a one-time code emailed to
// email (CodeMFA projects). The token stays the same; its session becomes aal2.
func (p *Project) StepUpCodeAPI(ctx context.Context, token, email string) error {
	return p.loginCode(ctx, apiAgent{p, token}, "login?aal=aal2", email)
}

// RefreshCodeAPI proves the second factor again on a session that is already aal2, which
// moves its authenticated_at forward. (A plain ?aal=aal2 login fails with
// session_already_available on an aal2 session.)
func (p *Project) RefreshCodeAPI(ctx context.Context, token, email string) error {
	return p.loginCode(ctx, apiAgent{p, token}, "login?refresh=true&aal=aal2", email)
}

// EnrollTOTPAPI sets up TOTP for token's identity through the API settings flow (TOTP
// projects) and returns the secret for later codes. Kratos v1.3.1 upgrades the same session to
// aal2 at once: no separate step-up is needed after enrolling.
func (p *Project) EnrollTOTPAPI(ctx context.Context, token string) (string, error) {
	return enrollTOTP(ctx, apiAgent{p, token})
}

// StepUpTOTPAPI proves the second factor of token's session with a TOTP code for secret. The
// token stays the same; its session becomes aal2.
func (p *Project) StepUpTOTPAPI(ctx context.Context, token, secret string) error {
	return loginTOTP(ctx, apiAgent{p, token}, "login?aal=aal2", secret)
}

// RefreshTOTPAPI proves TOTP again on a session that is already aal2 (see
// [Project.RefreshCodeAPI]).
func (p *Project) RefreshTOTPAPI(ctx context.Context, token, secret string) error {
	return loginTOTP(ctx, apiAgent{p, token}, "login?refresh=true&aal=aal2", secret)
}

// Whoami asks Kratos (directly, not through the counting proxy) about token's session and
// returns the status and body, for assertions with [AAL] and [ErrorID].
func (p *Project) Whoami(ctx context.Context, token string) (int, []byte, error) {
	return request(ctx, p.client, http.MethodGet, p.PublicURL+"/sessions/whoami", apiAgent{p, token}.header(), nil)
}

// WhoamiCookie is [Project.Whoami] for a browser session cookie.
func (p *Project) WhoamiCookie(ctx context.Context, c *http.Cookie) (int, []byte, error) {
	h := http.Header{}
	if c != nil {
		h.Set("Cookie", c.String())
	}
	return request(ctx, p.client, http.MethodGet, p.PublicURL+"/sessions/whoami", h, nil)
}

var emailSeq atomic.Int64

// NewEmail returns an address no other call in this process returned, so tests sharing one
// Kratos never collide.
func NewEmail() string {
	return fmt.Sprintf("user-%d-%d@orymfa.test", time.Now().UnixNano(), emailSeq.Add(1))
}
