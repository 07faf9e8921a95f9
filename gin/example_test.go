package gin_test

import (
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/orymfa/orymfa/core"
	orymgin "github.com/orymfa/orymfa/gin"
)

// The README quick start: a public route, a group behind a session, and a money transfer that
// needs a second factor proven in the last five minutes.
func ExampleRequireAAL2() {
	// Usually set in the environment: the Ory project URL or Kratos public URL.
	os.Setenv("ORY_SDK_URL", "https://example.projects.oryapis.com")

	r := gin.Default()
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "hello") })

	account := r.Group("/account", orymgin.RequireSession())
	account.GET("/profile", func(c *gin.Context) {
		s, _ := orymgin.Session(c)
		c.JSON(http.StatusOK, gin.H{"id": s.Identity.Id, "aal": s.GetAuthenticatorAssuranceLevel()})
	})
	// One whoami call per request: the route reuses the session the group verified.
	account.POST("/transfer", orymgin.RequireAAL2(orymgin.WithMaxAge(5*time.Minute)), func(c *gin.Context) {
		c.String(http.StatusOK, "sent")
	})

	_ = r.Run(":8080")
}

// An explicit configuration instead of ORY_SDK_URL, and API routes that always answer JSON.
func ExampleWithVerifier() {
	v := core.MustNew(core.Config{
		SDKURL: "http://127.0.0.1:4433",
		AppURL: "https://app.example.com",
	})
	r := gin.New()
	api := r.Group("/api", orymgin.RequireSession(orymgin.WithVerifier(v), orymgin.WithMode(core.ModeAPI)))
	api.GET("/me", func(c *gin.Context) {
		s, _ := orymgin.Session(c)
		c.JSON(http.StatusOK, s.Identity)
	})
}

// A deny handler renders denials the app's way; the route's handler never runs.
func ExampleWithDenyHandler() {
	v := core.MustNew(core.Config{SDKURL: "http://127.0.0.1:4433"})
	r := gin.New()
	r.GET("/admin", orymgin.RequireAAL2(
		orymgin.WithVerifier(v),
		orymgin.WithDenyHandler(func(c *gin.Context, d *core.Decision) {
			if d.Outcome == core.Unavailable {
				orymgin.WriteDecision(c, d) // the default 5xx
				return
			}
			c.HTML(http.StatusForbidden, "stepup.html", gin.H{"continue": d.RedirectTo})
		}),
	), func(c *gin.Context) { c.String(http.StatusOK, "admin") })
}

// Code below the handler reads the session from the request context.
func ExampleSession() {
	v := core.MustNew(core.Config{SDKURL: "http://127.0.0.1:4433"})
	r := gin.New()
	r.GET("/orders", orymgin.RequireSession(orymgin.WithVerifier(v)), func(c *gin.Context) {
		if s, ok := orymgin.Session(c); ok {
			c.JSON(http.StatusOK, listOrders(c.Request, s.Identity.Id))
		}
	})
}

func listOrders(r *http.Request, identityID string) []string {
	s, _ := core.SessionFromContext(r.Context()) // the same session, for layers without gin
	_ = s
	return []string{identityID}
}
