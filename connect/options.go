package orymfa

import (
	"time"

	"github.com/orymfa/orymfa/core"
)

// Option configures a rule of this package. It is a type of its own, so that an option of
// another adapter does not compile here.
type Option func(*options)

type options struct {
	guard []core.Option
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

// WithMaxAge demands a recent authentication: for RequireSession, authenticated_at (the last
// sign-in) within d; for RequireAAL2, the newest second factor within d. An older one is
// denied with SESSION_REFRESH_REQUIRED and sent to re-authenticate: login with refresh=true,
// plus aal=aal2 for RequireAAL2.
func WithMaxAge(d time.Duration) Option { return guardOption(core.WithMaxAge(d)) }

// WithVerifier uses an explicitly configured verifier (see [New]) instead of ORY_SDK_URL.
func WithVerifier(v *Verifier) Option { return guardOption(core.WithVerifier(v)) }
