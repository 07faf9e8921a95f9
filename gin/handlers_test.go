package orymfa_test

// These tests are the README's "Testing your handlers" section for gin, copied unchanged: a
// user who writes them from the README gets a test that compiles and passes.

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	orymfa "github.com/orymfa/orymfa/gin"
	"github.com/orymfa/orymfa/orymfatest"
)

func me(c *gin.Context) {
	s, _ := orymfa.Session(c)
	c.JSON(http.StatusOK, gin.H{"id": s.Identity.Id, "traits": s.Identity.Traits})
}

func TestSettingsNeedSecondFactor(t *testing.T) {
	gin.SetMode(gin.TestMode)
	ory := orymfatest.NewServer(t)
	v, err := orymfa.New(orymfa.Config{SDKURL: ory.URL})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.GET("/settings", orymfa.RequireAAL2(orymfa.WithVerifier(v)), me)

	newcomer := ory.NewIdentity() // no second factor yet
	token := ory.SignIn(newcomer, orymfatest.AAL1)

	// A browser is sent to Ory's settings to set one up, and comes back to the same URL.
	req := httptest.NewRequest(http.MethodGet, "http://app.example/settings", nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(ory.Cookie(token)) // ory_kratos_session
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, ory.URL+"/self-service/settings/browser?return_to=") {
		t.Fatalf("got %d to %q", rec.Code, loc)
	}

	ory.StepUp(token) // enrolling TOTP makes the same session aal2 at once
	req.Header.Del("Cookie")
	req.AddCookie(ory.Cookie(token)) // the browser got a new cookie value, as from Kratos
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), newcomer.ID) {
		t.Fatalf("after enrolling: %d %s", rec.Code, rec.Body)
	}
}

func TestMeHandlerAlone(t *testing.T) {
	s := orymfatest.NewSession(orymfatest.AAL2,
		orymfatest.WithIdentity(&orymfatest.Identity{Traits: map[string]any{"email": "ada@example.com"}}))
	rec := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(rec)
	c.Request = orymfatest.WithSession(httptest.NewRequest(http.MethodGet, "/me", nil), s)
	me(c)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "ada@example.com") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
