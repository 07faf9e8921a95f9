package orymfa

import (
	"time"

	nethttp "github.com/orymfa/orymfa/nethttp"
)

// Option configures a guard of this package. chi's middleware is net/http middleware, so an
// Option is the net/http adapter's own type (an alias): a nethttp option works here and a chi
// option there, while an option of any other adapter does not compile.
type Option = nethttp.Option

// DenyHandler renders a denial instead of the default redirect, JSON or error page. The
// decision carries the outcome, the Ory URL that resolves it and the default response
// ([WriteDecision] writes it).
type DenyHandler = nethttp.DenyHandler

// WithMaxAge demands a recent authentication: for RequireSession, authenticated_at (the last
// sign-in) within d; for RequireAAL2, the newest second factor within d. An older one is sent
// to re-authenticate: login with refresh=true, plus aal=aal2 for RequireAAL2.
func WithMaxAge(d time.Duration) Option { return nethttp.WithMaxAge(d) }

// WithVerifier uses an explicitly configured verifier (see [New]) instead of ORY_SDK_URL.
func WithVerifier(v *Verifier) Option { return nethttp.WithVerifier(v) }

// WithMode forces [ModeBrowser] (redirects) or [ModeAPI] (JSON) for a route.
func WithMode(m Mode) Option { return nethttp.WithMode(m) }

// WithDenyHandler renders denials with h instead of the default response.
func WithDenyHandler(h DenyHandler) Option { return nethttp.WithDenyHandler(h) }
