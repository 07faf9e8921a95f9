// Package core is the framework-agnostic heart of orymfa: it reads the Ory credentials of a
// request, asks Ory for the session (whoami), compares the session with a route's policy and
// returns a [Decision]. It never writes a response: the adapters (nethttp, chi, gin, echo v4
// and v5, fiber v2 and v3) render the decision the way their framework does, using the status,
// headers and body the decision already carries, so no policy is written twice.
//
// The files, in the order a request meets them in [Guard.Check] (guard.go, which reads top to
// bottom: the session from the context, the cache or Ory; the route's policy; the one rule
// that a denial is never based on a session Ory did not confirm during the request):
//
//   - request.go: the request facts the core needs ([Request]), independent of net/http; the
//     ones only a denial needs may be filled on demand ([RequestDetails]).
//   - context.go: the verified session in a [context.Context], tied to the verifier that
//     verified it and the credential it was verified for, so stacked guards ask Ory once.
//   - credentials.go: the Ory session cookie or session token taken from the request (in
//     Kratos's order: X-Session-Token, the cookie, Bearer), what carried it, and the keyed
//     hash that names it in the cache.
//   - cache.go: verified sessions ("grants") cached under the credential's key, grants only,
//     never past expires_at, for a TTL counted from when Ory was asked; forget.go:
//     [Verifier.ForgetSession], which drops one session's grants at once.
//   - ory.go: the way to Ory on a cache miss or a re-check: one whoami call shared by
//     concurrent requests for a credential (cancelled when they have all gone, panics
//     recovered), the observer told, the answer compacted (compact.go) and cached.
//   - whoami.go: the call itself and the classification of its answer (fail closed);
//     client.go: the HTTP client it goes through, a user's included (no redirects, a 1 MiB cap,
//     a pooled transport of its own).
//   - policy.go: [RequireSession], [RequireAAL2], freshness ([WithMaxAge]), the other options
//     (adapters build options of their own types on them), and the evaluation of a session.
//   - response.go and decision.go: the response that says what the user should do (a redirect
//     or Ory's JSON error shape), and the [Decision] that carries it; returnto.go: the
//     absolute URL of the original request, for return_to (for a form's POST, the form's
//     page).
//   - config.go: [Config] and [New], which builds a [Verifier]; [Default] reads ORY_SDK_URL.
//   - errors.go: the sentinel errors a denial wraps, [UnavailableError], and the rate-limited
//     log of failures talking to Ory.
//   - observer.go: the [Observer] hook for metrics and traces (the otel module implements it);
//     callbacks.go: how a panic in user code the core calls (the Observer, OnError, the
//     Logger's handler) fails a request closed without taking the process down.
//
// Machinery the policy does not need to show lives in small packages under internal/: flight
// (the shared calls), intern (the bounded table of values many sessions repeat) and ratelog
// (the rate-limited error log); internal/wait is the tests' one way to wait for goroutines.
//
// Ory's behaviour the core relies on (measured against Ory Kratos v1.3.1): whoami answers 401
// with no error id when there is no valid session, and 403 with error id session_aal2_required
// when the session has aal1 but Ory's "highest_available" setting demands the second factor the
// identity has. That 403 means "step up", never "logged out".
package core
