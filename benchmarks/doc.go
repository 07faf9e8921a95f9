// Package benchmarks holds orymfa's benchmarks that need more than one adapter package: Go
// benchmarks (go test -bench), compared with benchstat (a tool of this module), whose figures
// are BENCHMARKS.md's tables. The in-process benchmarks live beside each adapter
// (BenchmarkGuard in nethttp, chi, gin, echo, echo/v5, fiber and fiber/v3); this package adds:
//
//   - BenchmarkLoopback: every adapter of the registry (internal/conformance.Adapters) serving
//     its app on loopback against a real Ory Kratos v1.3.1 (internal/kratostest, a TOTP
//     project): the unguarded route (case=bare), RequireAAL2 with the session cache (cached)
//     and with the cache off (nocache, a whoami call per request), under 32 concurrent
//     workers presenting Kratos's own session cookie among app cookies. Besides sec/op it
//     reports req/s, the 50th and 99th percentile latency, this process's CPU per request
//     (load generator and app; Kratos excluded), whoami calls per million requests (Kratos's
//     own counter) and the TCP connections the verifier opened to Ory (through a counting
//     forwarder, so the verifier keeps the transport the core builds).
//   - BenchmarkAnchors: the same load in front of what users would run instead, against the
//     same Kratos in the same run: Oathkeeper and Heimdall as proxies (built from their Go
//     modules by scripts/build-anchors.sh) and Ory's middleware snippet (client-go's whoami
//     on every request), beside the bare upstream and orymfa's cached nethttp guard. The
//     proxies' CPU counts too.
//   - BenchmarkCachedSessions: 100,000 distinct sessions in one verifier's cache (Kratos
//     session documents, unique ids; no network): bytes and heap objects per cached session,
//     a hit among them through the nethttp guard, and the CPU of one full GC cycle.
//
// The benchmarks against Kratos skip under -short. The whole set, as BENCHMARKS.md records it,
// from the repository's root (workspace mode, so that one go test covers every module):
//
//	go test -run '^$' -bench . -benchmem -count 5 -timeout 60m \
//	    ./nethttp ./chi ./gin ./echo ./echo/v5 ./fiber ./fiber/v3 ./benchmarks | tee bench.txt
//	go tool benchstat -table .config,.name -col /case bench.txt
//
// The soak (soak_test.go, behind the soak build tag) runs mixed traffic through one adapter
// against Kratos with its sessions in SQLite, stops Kratos midway, starts it again, and fails
// if a request ever passes without its own verified session, if the middleware does not fail
// closed while Ory is away or does not recover once it is back, or if goroutines or
// descriptors grow:
//
//	cd benchmarks && GOWORK=off go test -tags soak -run Soak -soak.adapter nethttp -soak.duration 60s -v
//
// The ways Ory can fail (down, a closed port, slow, 500, malformed, HTML, 404, an inactive
// session, an unknown 403, a redirect, a panicking transport) are rows of the conformance
// table (internal/conformance), run through every adapter by the test command.
package benchmarks
