// Package conformance is the one scenario table every adapter (nethttp, chi, gin, echo v4 and
// v5, fiber v2 and v3) runs, in the spirit of rs/cors's TestSpec and testing/fstest.TestFS: an
// adapter supplies only "serve an app with these guards"; the requests, the users, the
// step-ups and the assertions live here once.
//
// Each scenario runs against a real Ory Kratos v1.3.1 (three projects: one-time codes, TOTP,
// and a Lax TOTP project) and against the test kit (orymfatest) with the same assertions, so
// the kit is held to Kratos's answers. What Kratos cannot be made to do (Ory down, slow,
// failing, lying, a panicking HTTP client, a redirect) runs against the kit alone. Under
// `go test -short` no Kratos is started and only the kit runs.
//
// The registry [Adapters] is the one place that knows the seven frameworks: one file per
// framework (framework_*.go) serves the table's [App] on it. The package's test runs the table
// through every registered adapter; the otel tests and the benchmarks serve their apps from
// the same registry. The rows every adapter once repeated in its own tests (stacked guards,
// the accessors and the request's context, a deny handler calling the framework's next,
// setup panics, the error page, many users at once, ...) are rows here (scenarios_adapters.go);
// rows about what only some frameworks have (a skip function, a central error handler, net/http
// middleware inside) name the adapters they need ([Adapter.Skips], [Adapter.ErrorHandler], ...).
// [RunFastHTTP] holds what the two adapters on fasthttp (fiber v2 and v3) must get right about
// fasthttp's reused buffers, once for both. What stays in an adapter's own tests is only its
// framework's: gin's Abort and context store, echo v5's error handlers and DeniedError, fiber's
// c.Next() in a deny handler, nil contexts.
package conformance
