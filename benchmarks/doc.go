// Command benchmarks measures orymfa over loopback HTTP against a real Ory Kratos v1.3.1
// (started by internal/kratostest): requests/s and p50/p99 latency of a bare handler, of
// RequireAAL2 with the session cache, and of RequireAAL2 with the cache off (every request asks
// whoami, as Ory's own middleware snippet does), for each adapter; the number of whoami calls
// caused by N concurrent first requests of one session; and the heap cost of a cached session.
//
//	cd benchmarks && go run .            (or `go run ./benchmarks` from the root with go.work)
//	go run . -duration 5s -concurrency 64 -adapters nethttp,gin
//
// Everything runs in this process and on 127.0.0.1: the load generator, the apps, the whoami
// counting proxy; Kratos is a child process. They share the machine's cores, so the absolute
// numbers understate what a server alone would do; the ratios are what the targets are about.
package main
