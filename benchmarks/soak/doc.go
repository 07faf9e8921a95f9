// Command soak runs mixed traffic through one orymfa adapter against a real Ory Kratos v1.3.1
// (internal/kratostest, TOTP project, sessions in an SQLite file), stops Kratos in the middle,
// starts it again, and checks that the middleware never lets a request through without a
// verified session of the requester's own, fails closed while Ory is away and recovers once it
// is back. Everything runs on 127.0.0.1; it is bounded (60 s of traffic by default, plus the
// setup). See RELIABILITY.md for a recorded run.
//
//	cd benchmarks && GOWORK=off go run ./soak                    # 60 s through net/http
//	GOWORK=off go run ./soak -adapter fiber -duration 20s
//	GOWORK=off go run ./soak -faults                             # the fault matrix only
//
// The traffic comes from -concurrency workers, each sending one request at a time to GET /r
// (RequireAAL2), from clients of six kinds: aal2 session tokens (X-Session-Token or Bearer),
// aal2 browser cookies (from Kratos's browser flows, among app cookies), aal1 tokens and
// cookies of users who enrolled TOTP (a new password login: whoami 403, so the guard answers
// 403 or a 303 to the aal2 login), unknown tokens (a new random one per request: 401), and
// tokens whose sessions the soak logs out in Kratos at 25% of the run (DELETE
// /self-service/logout/api): 200 until the cache TTL (2 s) has passed, 401 after.
//
// Timeline: samples of the process (live heap after a GC, goroutines, open descriptors,
// sockets, connections to Kratos) start after a 5% warm-up and repeat every 1/12 of the run;
// Kratos is stopped at 40% and restarted (same URLs, same SQLite file) at 60%. Each answer is
// counted in the phase it fell in: up (before the stop), down (after Kratos exited, before the
// restart), restarted (sent after Kratos was ready) or transition (overlapping either).
//
// The protected handler checks every session it is handed: the identity and session are the
// ones the requesting client owns, the session is aal2, the client is not one that must never
// pass, and the session was not logged out more than the TTL (plus a 1 s grace for a whoami
// answered just before the logout) ago. The invariants, checked at the end (exit status 1 if
// one breaks): no such handler run; while Kratos is up, no 5xx and every answer the one its
// client kind must get; while it is down, only 503/504 or a 200 from the cache within the
// TTL; a grant from Ory after the restart (the recovery time is how long after Kratos was
// ready); and end-of-run goroutines, descriptors and live heap flat against the start.
//
// Kratos runs in a helper process (this binary, re-executed): kratostest keeps Kratos's log
// in memory, which would otherwise count as the middleware's heap.
//
// -faults prints the fault matrix instead: for each way Ory can fail (connection refused, a
// dropped connection, too slow, 500, a malformed body, an HTML page, a 404, an inactive
// session, an unknown 403, a panicking RoundTripper in the app's own APIClient, a redirect to
// another host) and each of the seven adapters, the status an API and a browser request with
// a valid aal2 session got, and whether the handler ran; a control row without a fault shows
// the same requests let through. It needs no Kratos: the faults come from the test kit
// (orymfatest) and a closed loopback port.
package main
