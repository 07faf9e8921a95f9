package orymfa

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/orymfa/orymfa/core"
)

// Option configures a guard of this package. It is a type of its own, so that an option of
// another adapter does not compile here.
type Option func(*options)

type options struct {
	guard []core.Option
	deny  DenyHandler
	next  func(c *fiber.Ctx) bool
}

func collect(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

func guardOption(o core.Option) Option { return func(s *options) { s.guard = append(s.guard, o) } }

// DenyHandler renders a denial instead of the default redirect, JSON or error page. The
// decision carries the outcome, the Ory URL that resolves it and the default response
// ([WriteDecision] writes it). Its error goes to fiber's ErrorHandler, like any handler's.
// The chain is stopped before it is called: a c.Next() in it runs nothing (fiber answers
// it with its 404 error, as at the end of any chain).
type DenyHandler func(c *fiber.Ctx, d *Decision) error

// WithMaxAge demands a recent authentication: for RequireSession, authenticated_at (the last
// sign-in) within d; for RequireAAL2, the newest second factor within d. An older one is sent
// to re-authenticate: login with refresh=true, plus aal=aal2 for RequireAAL2.
func WithMaxAge(d time.Duration) Option { return guardOption(core.WithMaxAge(d)) }

// WithVerifier uses an explicitly configured verifier (see [New]) instead of ORY_SDK_URL.
func WithVerifier(v *Verifier) Option { return guardOption(core.WithVerifier(v)) }

// WithMode forces [ModeBrowser] (redirects) or [ModeAPI] (JSON) for a route.
func WithMode(m Mode) Option { return guardOption(core.WithMode(m)) }

// WithDenyHandler renders denials with h instead of the default response.
func WithDenyHandler(h DenyHandler) Option { return func(o *options) { o.deny = h } }

// WithNext skips the guard for requests where next returns true, like the Next field of
// fiber's own middleware configs. A skipped request has no session.
func WithNext(next func(c *fiber.Ctx) bool) Option { return func(o *options) { o.next = next } }
