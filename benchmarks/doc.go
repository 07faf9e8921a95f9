// Command benchmarks measures orymfa against a real Ory Kratos v1.3.1 (started by
// internal/kratostest) and prints each table of BENCHMARKS.md:
//
//   - loopback: requests/s, p50/p99 latency and CPU per request of a bare handler, of
//     RequireAAL2 with the session cache and of RequireAAL2 with the cache off (every request
//     asks whoami, as Ory's own middleware snippet does), for the seven adapters (nethttp, chi,
//     gin, echo, echov5, fiber, fiberv3), with one aal2 session per worker presented as a
//     browser does (Kratos's real ory_kratos_session cookie among five app cookies, the
//     default) or as an API client does (-credential token);
//   - new connections to Ory: every verifier reaches Kratos through a forwarder that counts
//     the TCP connections it opens, for each cell and for a cell of unknown session tokens,
//     where every request misses the cache (-unknown);
//   - the whoami calls caused by N concurrent first requests of one session (-cold);
//   - 100,000 cached sessions (-mem-entries): bytes and heap objects per session, the cost of
//     a hit, what the GC costs, and where a session's bytes go;
//   - in-process (-inprocess N): every adapter's BenchmarkBare and BenchmarkCached, compiled
//     in its own module and run in turn, N rounds;
//   - anchors (-anchors): Oathkeeper, Heimdall and Ory's snippet against the same Kratos.
//
// Run it from this directory (or `go run ./benchmarks` from the root, with go.work):
//
//	cd benchmarks && GOWORK=off go run . -rounds 5 -unknown 200000
//	GOWORK=off go run . -loopback=false -mem-entries 0 -inprocess 5
//	GOWORK=off go run . -anchors -adapters nethttp -cold 0 -unknown 0 -mem-entries 0
//
// Everything runs in this process and on 127.0.0.1: the load generator, the apps, the
// forwarders; Kratos (and the anchors) are child processes. They share the machine's cores,
// so the absolute numbers understate what a server alone would do; the ratios, taken round
// by round, and the CPU per request are what the targets are about.
package main
