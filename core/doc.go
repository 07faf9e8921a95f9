// Package core is the framework-agnostic heart of orymfa: it reads the Ory credentials of a
// request, asks Ory for the session (whoami), compares the session with a route's policy and
// returns a [Decision]. It never writes a response: the adapters (nethttp, chi, gin, echo v4 and v5, fiber v2 and v3)
// render the decision the way their framework does, using the status, headers and body the
// decision already carries, so no policy is written twice.
//
// The pieces, one file each:
//
//   - request.go: the request facts the core needs ([Request]), independent of net/http; the
//     ones only a denial needs may be filled on demand ([RequestDetails]).
//   - credentials.go: the Ory session cookie or session token taken from those facts, and the
//     keyed hash that names it in the cache.
//   - config.go: [Config] and [New], which builds a [Verifier]; [Default] reads ORY_SDK_URL.
//   - client.go: the HTTP client whoami goes through, a user's included: no redirects, a 1 MiB
//     cap, a pooled transport of its own.
//   - whoami.go: the call to Ory and the classification of its answer (fail closed).
//   - flight.go: concurrent whoami calls for one credential shared as one, cancelled when
//     every caller has gone, panics recovered.
//   - cache.go: verified sessions ("grants") cached under the credential's key, grants only,
//     never past expires_at; compact.go shrinks a session before it is kept.
//   - policy.go: [RequireSession], [RequireAAL2], freshness ([WithMaxAge]), the other options
//     (adapters build options of their own types on them).
//   - guard.go: [Guard.Check], which ties the above together.
//   - decision.go and response.go: what the middleware should do and the response that says it.
//   - returnto.go: the absolute URL of the original request, for return_to.
//   - context.go: the verified session in a [context.Context], tied to the verifier that
//     verified it.
//   - errors.go: the sentinel errors a denial wraps, and [UnavailableError]; errorlog.go logs
//     failures talking to Ory, rate-limited.
//   - observer.go: the [Observer] hook for metrics and traces (the otel module implements it).
//
// Ory's behaviour the core relies on (measured against Ory Kratos v1.3.1): whoami answers 401
// with no error id when there is no valid session, and 403 with error id session_aal2_required
// when the session has aal1 but Ory's "highest_available" setting demands the second factor the
// identity has. That 403 means "step up", never "logged out".
package core
