// Package orymfaotel traces and measures orymfa's guards with OpenTelemetry: how many
// requests were let through or denied and why, how often and how slowly Ory is asked, and
// how well the session cache works. It implements [core.Observer]; set it on the verifier:
//
//	v, err := orymfa.New(orymfa.Config{
//		SDKURL:   os.Getenv("ORY_SDK_URL"),
//		Observer: orymfaotel.NewObserver(), // the global TracerProvider and MeterProvider
//	})
//
// The package is named orymfaotel so that it does not collide with go.opentelemetry.io/otel
// in the files that set up OpenTelemetry. Pass your own providers with [WithTracerProvider]
// and [WithMeterProvider], as with otelhttp. A verifier without an observer measures nothing
// and pays nothing.
//
// # Spans
//
// Both spans are internal spans of the instrumentation scope [ScopeName].
//
//   - orymfa.check, one per guard check: a child of the span in the request's context (the
//     HTTP server span of otelhttp, otelgin and the like), with the attributes
//     orymfa.outcome (allow, login, step-up, refresh, enroll, unavailable),
//     orymfa.requirement (session, aal2), orymfa.aal (aal1, aal2; absent without a session),
//     orymfa.cached (the session came from the cache) and orymfa.from_context (an earlier
//     guard on the same request had verified it). A denial is not an error; unavailable
//     (Ory gave no usable answer: the app answers 5xx) sets the span status to Error and
//     error.type to the status the app answers ("502", "503", "504").
//   - orymfa.whoami, one per call to Ory's whoami: a child of the orymfa.check span of the
//     request that made the call (concurrent requests with the same credential share one
//     call; the others' check spans have no whoami child), with http.response.status_code
//     (Ory's answer, absent when there was none), orymfa.whoami.waiters (how many requests
//     shared the call) and, when the call gave no usable answer, error.type and status Error.
//     401 (no session) and 403 session_aal2_required are answers, not errors. An HTTP client
//     span of an instrumented Ory client (otelhttp.NewTransport in the APIClient's
//     HTTPClient) becomes its child.
//
// No span or metric carries the credential, the session id, the identity id or the
// identity's traits.
//
// # Metrics
//
// Names follow OpenTelemetry's semantic conventions (a Prometheus exporter turns
// orymfa.whoami.duration with unit s into orymfa_whoami_duration_seconds, and counters get
// _total):
//
//   - orymfa.decisions (Int64Counter, {decision}): every guard decision, by orymfa.outcome and
//     orymfa.requirement.
//   - orymfa.whoami.duration (Float64Histogram, s): every whoami call, by
//     http.response.status_code (absent when Ory did not answer) and error.type (absent when
//     Ory gave a usable answer; else "timeout", "unreachable", "canceled",
//     "malformed_session", or Ory's status code such as "500"). Buckets from 1 ms to 10 s.
//   - orymfa.whoami.active (Int64UpDownCounter, {call}): whoami calls in flight.
//   - orymfa.cache.lookups (Int64Counter, {lookup}): lookups in the session cache, by
//     orymfa.cache.result (hit, miss). One instrument with an attribute rather than two
//     counters, as the semantic conventions do when the sum over the attribute means
//     something (here: all lookups), so that the hit ratio is one counter's share.
//   - orymfa.cache.evictions (Int64Counter, {session}): sessions that left the cache,
//     expired or evicted when it was full.
//
// The instruments and their attribute sets are made once, in [NewObserver], and the
// attributes of a check span once per combination, so that the observer itself allocates
// nothing on the cached path: what remains is the TracerProvider's span (with the SDK, two
// small allocations when its sampler drops the span, four when it records it) and the
// MeterProvider's recording. The benchmarks in this module measure both.
//
// The errors talking to Ory still go to the verifier's slog logger (core.Config.Logger),
// rate-limited; the record's context carries the orymfa.whoami span, so a log bridge that
// reads the span from the context (otelslog) correlates the log line with the trace.
package orymfaotel
