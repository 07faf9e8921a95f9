package fiber_test

import (
	"net/http"
	"time"

	"github.com/orymfa/orymfa/internal/fakeory"
)

// startFake starts fakeory with answers that client-go v1.22.92 accepts: the fake's own
// session document lacks identity.schema_url, which client-go requires, so every 200 would
// decode as a malformed session (502). This handler answers like the fake's default one with
// the field added. Remove it once fakeory sends schema_url itself.
func startFake() *fakeory.Server {
	fake := fakeory.New()
	fake.Respond(kratosLike)
	return fake
}

func kratosLike(w http.ResponseWriter, r *http.Request) {
	cred := r.Header.Get("X-Session-Token")
	if c, err := r.Cookie(fakeory.CookieName); err == nil {
		cred = c.Value
	}
	switch cred {
	case fakeory.TokenAAL1, fakeory.CookieAAL1:
		writeSession(w, "aal1")
	case fakeory.TokenAAL2, fakeory.CookieAAL2:
		writeSession(w, "aal2")
	case fakeory.TokenStepUp, fakeory.CookieStepUp:
		fakeory.WriteError(w, http.StatusForbidden, "session_aal2_required")
	default:
		fakeory.WriteError(w, http.StatusUnauthorized, "")
	}
}

func writeSession(w http.ResponseWriter, aal string) {
	s := fakeory.Session(aal, time.Now())
	s["identity"].(map[string]any)["schema_url"] = "http://127.0.0.1/schemas/default"
	fakeory.WriteSession(w, s)
}
