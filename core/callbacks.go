package core

import (
	"context"
	"fmt"
)

// The core calls user code: Config.OnError, the Config.Logger's handler and the Observer's
// methods. A panic in any of them (a bug: a write to a nil map) must neither take the process
// down nor let a request through:
//
//   - in a shared whoami call, which runs in a goroutine of ours where no server can recover a
//     panic, the call recovers it (internal/flight) and every request waiting on it fails
//     closed; reporting that failure must not panic again there, so the report is safe;
//   - on a request's own path (Guard.Check), the guard recovers it and fails the request
//     closed: some servers (fasthttp's, under fiber) do not recover a handler's panic;
//   - never while a lock is held: the cache tells the Observer about evictions after
//     freelru has unlocked (see sessionCache.tellEvictions).

// safeReport returns report (OnError, or the log) made safe to call anywhere: a panic in it is
// dropped. It reports failures only, so the request fails closed anyway; and it runs inside
// the shared whoami call, whose recovery from a panic reports that panic with it again.
func safeReport(report func(context.Context, error)) func(context.Context, error) {
	return func(ctx context.Context, err error) {
		defer func() { _ = recover() }()
		report(ctx, err)
	}
}

// contain, deferred by Check when an Observer is set (the only user code on the request's own
// path), turns a panic there into a 502 for this request, reported, in place of the decision d.
func (g *Guard) contain(ctx context.Context, r *Request, d *Decision) {
	p := recover()
	if p == nil {
		return
	}
	err := badGateway("panic while checking the request", fmt.Errorf("%v", p))
	g.v.report(ctx, err)
	*d = g.deny(r, g.v.names.extract(r).kind(), Unavailable, err)
}
