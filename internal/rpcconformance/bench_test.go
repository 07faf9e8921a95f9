package rpcconformance_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/rpcconformance"
	"github.com/orymfa/orymfa/orymfatest"
)

// BenchmarkLoopback calls the test service over loopback with real clients, many callers at
// once (b.RunParallel), each call with the next of 1,000 aal2 sessions of the test kit: on
// a method no rule covers (case=bare, Public) and on one RequireAAL2 covers with every
// session cached (case=cached, AAL2), for each transport. The ratio of the two is what the
// guard costs a service end to end (-short: the test kit plays Ory, no Kratos is started):
//
//	go test -short -run '^$' -bench Loopback -benchmem -count 6 ./rpcconformance | tee new.txt
//	go tool -modfile=$(git rev-parse --show-toplevel)/benchmarks/go.mod benchstat -col /case new.txt
func BenchmarkLoopback(b *testing.B) {
	srv := orymfatest.NewServer(b)
	v := core.MustNew(core.Config{SDKURL: srv.URL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// Longer than a run of every case: the default 10 s would run out midway, and the
		// cached case would then time whoami calls.
		Cache: core.CacheConfig{TTL: time.Hour}})
	tokens := make([]string, 1000)
	for i := range tokens {
		tokens[i] = srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
	}
	var ran atomic.Int64
	app := rpcconformance.NewApp(v, v, &ran)
	app.Handle = func(_, _ *ory.Session) string { ran.Add(1); return `{"handler":"ran"}` }
	for _, tr := range rpcconformance.Transports {
		client := tr.Serve(b, app)
		for _, token := range tokens { // fill the cache
			if r := client.Unary(context.Background(), rpcconformance.AAL2, rpcconformance.Call{Token: token}); r.Code != 0 {
				b.Fatalf("%s: code %d %s", tr.Name, r.Code, r.Message)
			}
		}
		before := srv.Calls()
		for _, c := range []struct{ name, method string }{{"bare", rpcconformance.Public}, {"cached", rpcconformance.AAL2}} {
			b.Run("transport="+tr.Name+"/case="+c.name, func(b *testing.B) {
				b.ReportAllocs()
				var next atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						token := tokens[next.Add(1)%int64(len(tokens))]
						if r := client.Unary(context.Background(), c.method, rpcconformance.Call{Token: token}); r.Code != 0 {
							b.Errorf("code %d %s", r.Code, r.Message)
							return
						}
					}
				})
			})
		}
		if n := srv.Calls() - before; n != 0 {
			b.Fatalf("%s: %d whoami calls on the cached path", tr.Name, n)
		}
	}
}
