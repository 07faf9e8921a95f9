package orymfa_test

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	orymfa "github.com/orymfa/orymfa/gin"
)

// The README quick start: a public route, a group behind a session, and a money transfer that
// needs a second factor proven in the last five minutes. ORY_SDK_URL is the Ory project URL
// or Kratos public URL.
func ExampleRequireAAL2() {
	r := gin.Default()
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "hello") })

	account := r.Group("/account", orymfa.RequireSession())
	account.GET("/profile", func(c *gin.Context) {
		s, _ := orymfa.Session(c)
		c.JSON(http.StatusOK, gin.H{"id": s.Identity.Id, "aal": s.GetAuthenticatorAssuranceLevel()})
	})
	// One whoami call per request: the route reuses the session the group verified.
	account.POST("/transfer", orymfa.RequireAAL2(orymfa.WithMaxAge(5*time.Minute)), func(c *gin.Context) {
		c.String(http.StatusOK, "sent")
	})

	_ = r.Run(":8080")
}

// An explicit configuration instead of ORY_SDK_URL, with the same import, and API routes that
// always answer JSON.
func ExampleNew() {
	v, err := orymfa.New(orymfa.Config{
		SDKURL: "https://my-project.projects.oryapis.com",
		AppURL: "https://app.example.com",
	})
	if err != nil {
		panic(err)
	}
	r := gin.New()
	api := r.Group("/api", orymfa.RequireSession(orymfa.WithVerifier(v), orymfa.WithMode(orymfa.ModeAPI)))
	api.GET("/me", func(c *gin.Context) {
		s, _ := orymfa.Session(c)
		c.JSON(http.StatusOK, s.Identity)
	})
}

// A deny handler renders denials the app's way; the route's handler never runs.
func ExampleWithDenyHandler() {
	r := gin.New()
	r.GET("/admin", orymfa.RequireAAL2(
		orymfa.WithDenyHandler(func(c *gin.Context, d *orymfa.Decision) {
			if d.Outcome == orymfa.Unavailable {
				orymfa.WriteDecision(c, d) // the default 5xx
				return
			}
			c.HTML(http.StatusForbidden, "stepup.html", gin.H{"continue": d.RedirectTo})
		}),
	), func(c *gin.Context) { c.String(http.StatusOK, "admin") })
}

// Code below the handler reads the session from the request context too.
func ExampleSession() {
	r := gin.New()
	r.GET("/orders", orymfa.RequireSession(), func(c *gin.Context) {
		if s, ok := orymfa.Session(c); ok {
			c.JSON(http.StatusOK, listOrders(c.Request, s.Identity.Id))
		}
	})
}

func listOrders(r *http.Request, identityID string) []string {
	return []string{identityID}
}
