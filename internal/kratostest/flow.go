package kratostest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"
)

// flow is the part of a Kratos self-service flow the drivers need.
type flow struct {
	ID    string `json:"id"`
	State string `json:"state"`
	UI    struct {
		Action   string `json:"action"`
		Nodes    []node `json:"nodes"`
		Messages []struct {
			ID   int    `json:"id"`
			Text string `json:"text"`
		} `json:"messages"`
	} `json:"ui"`
}

// storeRefused reports whether Kratos answered a submit with its generic error and no text:
// what it renders when its store refused the write. On in-memory SQLite, whose shared cache
// locks a table for a writer while another transaction reads it, that happens when the
// courier's look at its queue overlaps the insert of the mail a login code needs.
func (f *flow) storeRefused() bool {
	for _, m := range f.UI.Messages {
		if m.ID == 4000001 && m.Text == "" {
			return true
		}
	}
	return false
}

type node struct {
	Type       string `json:"type"`
	Group      string `json:"group"`
	Attributes struct {
		Name  string          `json:"name"`
		Value json.RawMessage `json:"value"`
		ID    string          `json:"id"`
		Text  struct {
			Text string `json:"text"`
		} `json:"text"`
	} `json:"attributes"`
}

// inputValue returns the string value of the input node called name, or "".
func (f *flow) inputValue(name string) string {
	for _, n := range f.UI.Nodes {
		if n.Type == "input" && n.Attributes.Name == name {
			var s string
			_ = json.Unmarshal(n.Attributes.Value, &s)
			return s
		}
	}
	return ""
}

// text returns the text of the text node with the given id, or "".
func (f *flow) text(id string) string {
	for _, n := range f.UI.Nodes {
		if n.Type == "text" && n.Attributes.ID == id {
			return n.Attributes.Text.Text
		}
	}
	return ""
}

// Error is Kratos's error body: {"error":{...},"redirect_browser_to":...}.
type Error struct {
	Error struct {
		ID      string `json:"id"`
		Code    int    `json:"code"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"error"`
	RedirectBrowserTo string `json:"redirect_browser_to"`
}

// ErrorID returns error.id of a Kratos error body (e.g. session_aal2_required), or "".
func ErrorID(body []byte) string {
	var e Error
	_ = json.Unmarshal(body, &e)
	return e.Error.ID
}

// AAL returns authenticator_assurance_level of a session body (whoami or a flow's result's
// "session"), or "".
func AAL(body []byte) string {
	var s struct {
		AAL     string `json:"authenticator_assurance_level"`
		Session *struct {
			AAL string `json:"authenticator_assurance_level"`
		} `json:"session"`
	}
	_ = json.Unmarshal(body, &s)
	if s.AAL == "" && s.Session != nil {
		return s.Session.AAL
	}
	return s.AAL
}

// agent is who runs a flow: an API client with a session token or a browser with cookies.
// The step-up and enrollment logic is the same for both.
type agent interface {
	// initFlow starts the flow at path (e.g. "login?aal=aal2"; the agent adds
	// /self-service/ and /api or /browser) and returns it.
	initFlow(ctx context.Context, path string) (*flow, error)
	// submit posts body to the flow's action and returns the answer, whatever its status.
	submit(ctx context.Context, f *flow, body map[string]any) (int, []byte, error)
}

// request sends one JSON request and reads the whole answer. err is only for transport
// failures; the status is the caller's to judge. Kratos on in-memory SQLite refuses a write that
// overlaps another with "Unable to serialize access due to a concurrent update"; the transaction
// was rolled back, so the same request is sent again (a bounded number of times).
func request(ctx context.Context, c *http.Client, method, url string, hdr http.Header, body any) (int, []byte, error) {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("kratostest: %w", err)
		}
		payload = b
	}
	for attempt := 1; ; attempt++ {
		status, b, err := requestOnce(ctx, c, method, url, hdr, payload)
		if err != nil || attempt == 20 || !bytes.Contains(b, []byte("concurrent update")) {
			return status, b, err
		}
	}
}

func requestOnce(ctx context.Context, c *http.Client, method, url string, hdr http.Header, payload []byte) (int, []byte, error) {
	var r io.Reader
	if payload != nil {
		r = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, fmt.Errorf("kratostest: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("kratostest: %s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("kratostest: %s %s: %w", method, url, err)
	}
	return res.StatusCode, b, nil
}

// statusError reports an answer the driver did not expect, with Kratos's body to explain it.
func statusError(what string, status int, body []byte) error {
	const max = 2000
	s := string(body)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Errorf("kratostest: %s: unexpected status %d: %s", what, status, s)
}

// decodeFlow parses a flow from an answer that should carry one.
func decodeFlow(what string, status int, body []byte) (*flow, error) {
	var f flow
	if err := json.Unmarshal(body, &f); err != nil || f.ID == "" || f.UI.Action == "" {
		return nil, statusError(what, status, body)
	}
	return &f, nil
}

// submitOK submits body and requires a 200 answer.
func submitOK(ctx context.Context, a agent, f *flow, what string, body map[string]any) ([]byte, error) {
	status, b, err := a.submit(ctx, f, body)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, statusError(what, status, b)
	}
	return b, nil
}

// loginCode runs a login flow at path with the code method: the first submit makes Kratos
// email a code (it answers 400 with the flow in state sent_email), the second submits it.
func (p *Project) loginCode(ctx context.Context, a agent, path, email string) error {
	f, err := p.sendLoginCode(ctx, a, path, email)
	for attempt := 2; errors.Is(err, errStoreRefused) && attempt <= 3; attempt++ {
		f, err = p.sendLoginCode(ctx, a, path, email) // a new flow: the refused one is spent
	}
	if err != nil {
		return err
	}
	code, err := p.courier.wait(ctx, email, "login_code_valid", f.ID)
	if err != nil {
		return err
	}
	_, err = submitOK(ctx, a, f, "submit login code", map[string]any{"method": "code", "identifier": email, "code": code})
	return err
}

// errStoreRefused marks a send-code answer that flow.storeRefused recognises.
var errStoreRefused = errors.New("kratostest: Kratos's store refused the write (a table lock of in-memory SQLite)")

// sendLoginCode starts a login flow at path and has Kratos email a code: the first submit
// answers 400 with the flow in state sent_email. The flow id goes along as the transient
// payload, which the mail carries, so the code is read from this flow's mail only.
func (p *Project) sendLoginCode(ctx context.Context, a agent, path, email string) (*flow, error) {
	f, err := a.initFlow(ctx, path)
	if err != nil {
		return nil, err
	}
	status, b, err := a.submit(ctx, f, map[string]any{"method": "code", "identifier": email,
		"transient_payload": map[string]string{"orymfa_flow": f.ID}})
	if err != nil {
		return nil, err
	}
	if status != http.StatusBadRequest {
		return nil, statusError("send login code", status, b)
	}
	if f, err = decodeFlow("send login code", status, b); err != nil {
		return nil, err
	}
	if f.State != "sent_email" {
		err = statusError("send login code: flow state "+f.State, status, b)
		if f.storeRefused() {
			err = fmt.Errorf("%w: %w", errStoreRefused, err)
		}
		return nil, err
	}
	return f, nil
}

// loginTOTP runs a login flow at path with a TOTP code for secret.
func loginTOTP(ctx context.Context, a agent, path, secret string) error {
	f, err := a.initFlow(ctx, path)
	if err != nil {
		return err
	}
	code, err := TOTPCode(secret)
	if err != nil {
		return err
	}
	_, err = submitOK(ctx, a, f, "submit totp code", map[string]any{"method": "totp", "totp_code": code})
	return err
}

// loginPassword runs a first-factor login and returns the answer, whatever its status: a
// browser login of a user with a second factor answers 422.
func loginPassword(ctx context.Context, a agent, email, password string) (int, []byte, error) {
	f, err := a.initFlow(ctx, "login")
	if err != nil {
		return 0, nil, err
	}
	return a.submit(ctx, f, map[string]any{"method": "password", "identifier": email, "password": password})
}

// register runs a password registration and returns the 200 answer.
func register(ctx context.Context, a agent, email, password string) ([]byte, error) {
	f, err := a.initFlow(ctx, "registration")
	if err != nil {
		return nil, err
	}
	return submitOK(ctx, a, f, "register", map[string]any{
		"method":   "password",
		"traits":   map[string]any{"email": email},
		"password": password,
	})
}

// enrollTOTP reads the TOTP secret from a settings flow and confirms it with a valid code.
func enrollTOTP(ctx context.Context, a agent) (string, error) {
	f, err := a.initFlow(ctx, "settings")
	if err != nil {
		return "", err
	}
	secret := f.text("totp_secret_key")
	if secret == "" {
		return "", fmt.Errorf("kratostest: settings flow %s has no totp_secret_key node (is this a TOTP project?)", f.ID)
	}
	code, err := TOTPCode(secret)
	if err != nil {
		return "", err
	}
	b, err := submitOK(ctx, a, f, "enroll totp", map[string]any{"method": "totp", "totp_code": code})
	if err != nil {
		return "", err
	}
	var done flow
	if err := json.Unmarshal(b, &done); err != nil || done.State != "success" {
		return "", statusError("enroll totp: flow not in state success", http.StatusOK, b)
	}
	return secret, nil
}

// TOTPCode returns the current TOTP code for secret, as an authenticator app would show it.
func TOTPCode(secret string) (string, error) {
	code, err := totp.GenerateCode(strings.TrimSpace(secret), time.Now())
	if err != nil {
		return "", fmt.Errorf("kratostest: totp code: %w", err)
	}
	return code, nil
}
