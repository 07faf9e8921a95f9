// Command chi is a small chi app whose routes are protected by orymfa:
//
//	/          public
//	/account   any Ory session (RequireSession)
//	/transfer  a second factor proven within the last five minutes (RequireAAL2)
//	/api/me    the identity as JSON, for API clients with a session token
//
// Run it next to Ory (or Kratos) with ORY_SDK_URL set, as in Ory's guides:
//
//	ORY_SDK_URL=http://127.0.0.1:4433 go run .
//
// scripts/demo.sh chi in the orymfa repository starts Kratos, a login UI and this app together.
package main

import (
	"cmp"
	"encoding/json"
	"html/template"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/go-chi/chi/v5"
	ory "github.com/ory/client-go"

	orymchi "github.com/orymfa/orymfa/chi"
	"github.com/orymfa/orymfa/core"
)

func main() {
	addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:4455")
	log.Printf("listening on http://%s (Ory at %s)", addr, os.Getenv("ORY_SDK_URL"))
	log.Fatal(http.ListenAndServe(addr, newApp()))
}

// newApp builds the app's routes. The guards read ORY_SDK_URL and panic here, at startup,
// when it is missing.
func newApp() http.Handler {
	oryClient := newOryClient()

	r := chi.NewRouter()
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		render(w, r, oryClient, "Home", "Anyone can see this page.")
	})
	r.Group(func(r chi.Router) {
		r.Use(orymchi.RequireSession())
		r.Get("/account", func(w http.ResponseWriter, r *http.Request) {
			render(w, r, oryClient, "Account", "Any signed-in user can see this page.")
		})
		r.Get("/api/me", func(w http.ResponseWriter, r *http.Request) {
			s, _ := orymchi.SessionFromContext(r.Context())
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(s.Identity)
		})
	})
	// Moving money needs a second factor proven in the last five minutes. The Ory session
	// cookie is SameSite=Lax, so a cross-site form cannot POST here with it.
	r.Group(func(r chi.Router) {
		r.Use(orymchi.RequireAAL2(orymchi.WithMaxAge(5 * time.Minute)))
		r.Get("/transfer", func(w http.ResponseWriter, r *http.Request) {
			render(w, r, oryClient, "Transfer", "You proved your second factor recently: you may move money.")
		})
		r.Post("/transfer", func(w http.ResponseWriter, r *http.Request) {
			render(w, r, oryClient, "Transfer", "Sent €"+r.PostFormValue("amount")+". (Not really: this is a demo.)")
		})
	})
	return r
}

// newOryClient is the Ory SDK client the pages use to create logout links.
func newOryClient() *ory.APIClient {
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: os.Getenv("ORY_SDK_URL")}}
	return ory.NewAPIClient(cfg)
}

// render writes one page. For a signed-in user it shows the email, the session's assurance
// level and a logout link from Ory.
func render(w http.ResponseWriter, r *http.Request, oryClient *ory.APIClient, title, text string) {
	data := page{Title: title, Text: text, Transfer: title == "Transfer"}
	if s, ok := orymchi.SessionFromContext(r.Context()); ok {
		traits, _ := s.Identity.Traits.(map[string]any)
		data.Email, _ = traits["email"].(string)
		data.AAL = string(s.GetAuthenticatorAssuranceLevel())
		logout, _, err := oryClient.FrontendAPI.CreateBrowserLogoutFlow(r.Context()).Cookie(core.OryCookies(r.Header.Get("Cookie"))).Execute()
		if err == nil {
			data.LogoutURL = logout.LogoutUrl
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, data); err != nil {
		log.Printf("render %s: %v", title, err)
	}
}

type page struct {
	Title, Text, Email, AAL, LogoutURL string
	Transfer                           bool
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · orymfa example</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}
nav a{margin-right:1rem}.who{background:#f3f5f9;border-radius:6px;padding:.75rem 1rem}
button{font:inherit;padding:.4rem 1rem}</style></head>
<body><nav><a href="/">Home</a><a href="/account">Account</a><a href="/transfer">Transfer</a><a href="/api/me">/api/me</a>
{{if .LogoutURL}}<a href="{{.LogoutURL}}">Log out</a>{{end}}</nav>
<h1>{{.Title}}</h1><p>{{.Text}}</p>
{{if .Email}}<p class="who">Signed in as <strong id="email">{{.Email}}</strong>, session <strong id="aal">{{.AAL}}</strong></p>{{end}}
{{if .Transfer}}<form method="post" action="/transfer"><input name="amount" value="100" size="6"> €
<button type="submit">Send</button></form>{{end}}
</body></html>
`))
