// Command fiber is a small fiber v2 app whose routes are protected by orymfa:
//
//	/          public; the header still shows who is signed in
//	/account   any Ory session (RequireSession)
//	/transfer  a second factor proven within the last five minutes (RequireAAL2)
//	/api/me    the identity as JSON, for API clients with a session token
//
// Run it next to Ory (or Kratos) with ORY_SDK_URL set, as in Ory's guides:
//
//	ORY_SDK_URL=http://127.0.0.1:4433 go run .
//
// scripts/demo.sh fiber in the orymfa repository starts Kratos, a login UI and this app together.
package main

import (
	"cmp"
	"context"
	"errors"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/fiber"
)

func main() {
	addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:4455")
	log.Printf("listening on http://%s (Ory at %s)", addr, os.Getenv("ORY_SDK_URL"))
	log.Fatal(newApp().Listen(addr))
}

// newApp builds the app's routes. The guards read ORY_SDK_URL and panic here, at startup,
// when it is missing.
func newApp() *fiber.App {
	signedIn := orymfa.RequireSession()
	stepUp := orymfa.RequireAAL2(orymfa.WithMaxAge(5 * time.Minute))
	site := newSite()
	render := func(c *fiber.Ctx, title, text string) error {
		s, _ := orymfa.Session(c)
		c.Type("html", "utf-8")
		return pageTemplate.Execute(c, site.newPage(c.UserContext(), c.Get(fiber.HeaderCookie), s, title, text))
	}

	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		// Clients connect directly: trust no proxy, so c.IP(), c.Hostname() and c.Protocol()
		// ignore X-Forwarded-* headers. Behind a proxy, list it in TrustedProxies.
		EnableTrustedProxyCheck: true,
	})
	app.Use(recover.New())
	app.Use(crossOriginProtection())
	app.Get("/", func(c *fiber.Ctx) error {
		return render(c, "Home", "Anyone can see this page.")
	})
	app.Get("/account", signedIn, func(c *fiber.Ctx) error {
		return render(c, "Account", "Any signed-in user can see this page.")
	})
	// Moving money needs a second factor proven in the last five minutes.
	app.Get("/transfer", stepUp, func(c *fiber.Ctx) error {
		return render(c, "Transfer", "You proved your second factor recently: you may move money.")
	})
	app.Post("/transfer", stepUp, func(c *fiber.Ctx) error {
		return render(c, "Transfer", "Sent €"+c.FormValue("amount")+". (Not really: this is a demo.)")
	})
	app.Get("/api/me", signedIn, func(c *fiber.Ctx) error {
		s, _ := orymfa.Session(c)
		return c.JSON(s.Identity)
	})
	return app
}

// crossOriginProtection refuses cross-origin POSTs (and other unsafe methods) from browsers:
// the Ory session cookie is SameSite=Lax, which a form on a sibling subdomain gets past. fiber
// has no *http.Request, so this hands net/http's CrossOriginProtection what its check reads.
func crossOriginProtection() fiber.Handler {
	cop := http.NewCrossOriginProtection()
	return func(c *fiber.Ctx) error {
		r := &http.Request{Method: c.Method(), Host: string(c.Request().Host()), URL: &url.URL{Path: c.Path()}, Header: http.Header{
			"Sec-Fetch-Site": {c.Get("Sec-Fetch-Site")}, "Origin": {c.Get(fiber.HeaderOrigin)},
		}}
		if cop.Check(r) != nil {
			return fiber.NewError(fiber.StatusForbidden, "cross-origin request refused")
		}
		return c.Next()
	}
}

// site is what every page needs: an Ory client and the header's links.
type site struct {
	ory                    *ory.APIClient
	Demo                   bool
	SignInURL, SettingsURL string
}

// newSite links Ory's own self-service pages, or the demo's login UI when scripts/demo.sh
// runs the app (it sets ORYMFA_DEMO=1).
func newSite() *site {
	sdk := strings.TrimSuffix(os.Getenv("ORY_SDK_URL"), "/")
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: sdk}}
	s := &site{ory: ory.NewAPIClient(cfg), SignInURL: sdk + "/self-service/login/browser", SettingsURL: sdk + "/self-service/settings/browser"}
	if os.Getenv("ORYMFA_DEMO") != "" {
		s.Demo, s.SignInURL, s.SettingsURL = true, "/ui/login", "/ui/settings"
	}
	return s
}

// page is what the template shows.
type page struct {
	*site
	Title, Text          string
	Email, AAL           string // who is signed in; AAL "" when nobody is
	StepUpURL, LogoutURL string
	Guarded, Transfer    bool
}

// newPage is the page for a request with the Cookie header cookie. s is the session the guard
// verified, nil on the public page: there the app asks Ory itself who is signed in.
func (st *site) newPage(ctx context.Context, cookie string, s *ory.Session, title, text string) page {
	p := page{site: st, Title: title, Text: text, Guarded: s != nil, Transfer: title == "Transfer"}
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
