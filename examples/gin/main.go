// Command gin is a small gin app whose routes are protected by orymfa:
//
//	/          public; the header still shows who is signed in
//	/account   any Ory session (RequireSession)
//	/transfer  a second factor proven within the last five minutes (RequireAAL2)
//	/api/me    the identity as JSON, for API clients with a session token
//
// The HTML pages come from examples/internal/page, which every example shares: this file is
// the app's routes and its guards.
//
// Run it next to Ory (or Kratos) with ORY_SDK_URL set, as in Ory's guides:
//
//	ORY_SDK_URL=http://127.0.0.1:4433 go run .
//
// scripts/demo.sh gin in the orymfa repository starts Kratos, a login UI and this app together.
package main

import (
	"cmp"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/orymfa/orymfa/examples/internal/page"
	orymfa "github.com/orymfa/orymfa/gin"
)

func main() {
	addr := cmp.Or(os.Getenv("ADDR"), "127.0.0.1:4455")
	log.Printf("listening on http://%s (Ory at %s)", addr, os.Getenv("ORY_SDK_URL"))
	srv := &http.Server{Addr: addr, Handler: newApp(), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// newApp builds the app's routes. The guards read ORY_SDK_URL and panic here, at startup,
// when it is missing.
func newApp() http.Handler {
	signedIn := orymfa.RequireSession()
	stepUp := orymfa.RequireAAL2(orymfa.WithMaxAge(5 * time.Minute))
	site := page.New()
	render := func(c *gin.Context, title, text string) {
		s, _ := orymfa.Session(c)
		c.Header("Content-Type", page.ContentType)
		if err := site.Render(c.Request.Context(), c.Writer, c.GetHeader("Cookie"), s, title, text); err != nil {
			_ = c.Error(err)
		}
	}

	gin.SetMode(gin.ReleaseMode) // no debug output
	r := gin.New()
	r.Use(gin.Recovery())
	// Clients connect directly: c.ClientIP() is the peer's address, X-Forwarded-For is not
	// believed. Behind a proxy, list its addresses here.
	if err := r.SetTrustedProxies(nil); err != nil {
		panic(err)
	}
	r.GET("/", func(c *gin.Context) {
		render(c, "Home", "Anyone can see this page.")
	})
	r.GET("/account", signedIn, func(c *gin.Context) {
		render(c, "Account", "Any signed-in user can see this page.")
	})
	// Moving money needs a second factor proven in the last five minutes.
	r.GET("/transfer", stepUp, func(c *gin.Context) {
		render(c, "Transfer", "You proved your second factor recently: you may move money.")
	})
	r.POST("/transfer", stepUp, func(c *gin.Context) {
		render(c, "Transfer", "Sent €"+c.PostForm("amount")+". (Not really: this is a demo.)")
	})
	r.GET("/api/me", signedIn, func(c *gin.Context) {
		s, _ := orymfa.Session(c)
		c.JSON(http.StatusOK, s.Identity)
	})
	// The Ory session cookie is SameSite=Lax, which a form on a sibling subdomain gets past:
	// refuse cross-origin POSTs (and other unsafe methods) from browsers.
	return http.NewCrossOriginProtection().Handler(r)
}
