package page

import (
	"context"
	"errors"
	"html/template"
	"io"
	"os"
	"strings"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// ContentType is the media type of what [Site.Render] writes.
const ContentType = "text/html; charset=utf-8"

// Site is what every page needs: an Ory client and the header's links.
type Site struct {
	ory                    *ory.APIClient
	Demo                   bool
	SignInURL, SettingsURL string
}

// New reads ORY_SDK_URL and links Ory's own self-service pages, or the demo's login UI when
// scripts/demo.sh runs the app (it sets ORYMFA_DEMO=1).
func New() *Site {
	sdk := strings.TrimSuffix(os.Getenv("ORY_SDK_URL"), "/")
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: sdk}}
	s := &Site{ory: ory.NewAPIClient(cfg), SignInURL: sdk + "/self-service/login/browser", SettingsURL: sdk + "/self-service/settings/browser"}
	if os.Getenv("ORYMFA_DEMO") != "" {
		s.Demo, s.SignInURL, s.SettingsURL = true, "/ui/login", "/ui/settings"
	}
	return s
}

// Render writes the page titled title, saying text, to w for a request with the Cookie header
// cookie. s is the session the guard verified, nil on a public page: there the page asks Ory
// itself who is signed in. The page on /transfer has the transfer form.
func (st *Site) Render(ctx context.Context, w io.Writer, cookie string, s *ory.Session, title, text string) error {
	return pageTemplate.Execute(w, st.newPage(ctx, cookie, s, title, text))
}

// page is what the template shows.
type page struct {
	*Site
	Title, Text          string
	Email, AAL           string // who is signed in; AAL "" when nobody is
	StepUpURL, LogoutURL string
	Guarded, Transfer    bool
}

func (st *Site) newPage(ctx context.Context, cookie string, s *ory.Session, title, text string) page {
	p := page{Site: st, Title: title, Text: text, Guarded: s != nil, Transfer: title == "Transfer"}
	cookie = core.OryCookies(cookie) // Ory gets its own cookie, never the app's others
	if s == nil && cookie != "" {
		var err error
		if s, _, err = st.ory.FrontendAPI.ToSession(ctx).Cookie(cookie).Execute(); err != nil {
			s = nil
			p.StepUpURL, p.AAL = aal2Required(err)
		}
	}
	if s != nil {
		traits, _ := s.GetIdentity().Traits.(map[string]any)
		p.Email, _ = traits["email"].(string)
		p.AAL = string(s.GetAuthenticatorAssuranceLevel())
	}
	if p.AAL != "" && cookie != "" {
		if f, _, err := st.ory.FrontendAPI.CreateBrowserLogoutFlow(ctx).Cookie(cookie).Execute(); err == nil {
			p.LogoutURL = f.LogoutUrl
		}
	}
	return p
}

// aal2Required recognises Ory's 403 session_aal2_required: signed in with the first factor
// only, and Ory names the user after the second. It returns where Ory asks for it, and aal1.
func aal2Required(err error) (stepUpURL, aal string) {
	var e *ory.GenericOpenAPIError
	if !errors.As(err, &e) {
		return "", ""
	}
	if m, ok := e.Model().(ory.ErrorGeneric); ok && m.Error.GetId() == "session_aal2_required" {
		stepUpURL, _ = m.AdditionalProperties["redirect_browser_to"].(string)
		return stepUpURL, "aal1"
	}
	return "", ""
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · orymfa {{if .Demo}}demo{{else}}example{{end}}</title>
<style>
*{box-sizing:border-box} body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2330;background:#f4f5f8}
header{background:#1f2330;color:#e6e8ee;padding:.6rem 1.25rem;display:flex;flex-wrap:wrap;gap:.4rem 1.25rem;align-items:center}
header a{color:#cfd6ff;text-decoration:none} header a:hover{text-decoration:underline} header .brand{color:#fff;font-weight:600}
header nav{display:flex;flex-wrap:wrap;gap:1rem} header .who{margin-left:auto;font-size:.92rem}
header .who strong{color:#fff;font-weight:600} header .who a{margin-left:.5rem}
.aal{display:inline-block;padding:0 .45rem;border-radius:4px;font-size:.8rem;font-weight:600;background:#7a5a12;color:#fff} .aal.aal2{background:#2f6b46}
main{max-width:30rem;margin:2.5rem auto;padding:0 1rem} h1{font-size:1.6rem;margin:0 0 1rem}
.card{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:1.5rem 1.75rem}
.card>:first-child{margin-top:0} .card>:last-child{margin-bottom:0}
label{display:block;margin:0 0 1rem;font-weight:500}
input{display:block;width:100%;margin-top:.3rem;padding:.55rem .7rem;font:inherit;border:1px solid #c9cdd8;border-radius:6px}
button{font:inherit;padding:.55rem 1.1rem;border-radius:6px;border:1px solid #4f6bed;background:#4f6bed;color:#fff;cursor:pointer}
</style></head>
<body>
<header>
  <a class="brand" href="/">orymfa {{if .Demo}}demo{{else}}example{{end}}</a>
  <nav><a href="/">Home</a><a href="/account">Account</a><a href="/transfer">Transfer</a><a href="{{.SettingsURL}}">Settings</a>{{if .Demo}}<a href="/ui/mailbox" target="mailbox">Dev mailbox</a>{{end}}</nav>
  {{if .AAL}}<span class="who" id="who" data-state="signed-in">Signed in{{with .Email}} as <strong id="who-email">{{.}}</strong>{{end}}
    <span class="aal {{.AAL}}" id="who-aal">{{.AAL}}</span>{{with .StepUpURL}}<a href="{{.}}">Prove your second factor</a>{{end}}{{with .LogoutURL}}<a href="{{.}}">Log out</a>{{end}}</span>
  {{else}}<span class="who" id="who" data-state="signed-out">Signed out<a href="{{.SignInURL}}">Sign in</a></span>{{end}}
</header>
<main><h1>{{.Title}}</h1><div class="card"><p>{{.Text}}</p>
  {{if .Guarded}}<p>The guard handed this page the session of <strong id="email">{{.Email}}</strong> <span class="aal {{.AAL}}" id="aal">{{.AAL}}</span></p>{{end}}
  {{if .Transfer}}<form method="post" action="/transfer"><label>Amount in €<input name="amount" value="100" inputmode="numeric"></label><button type="submit">Send</button></form>{{end}}
</div></main>
</body></html>
`))
