package benchmarks

import (
	"testing"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/conformance"
)

// BenchmarkLoopback measures every adapter of the registry over loopback against the shared
// Kratos: the app's unguarded route (case=bare), RequireAAL2 with the session cache (cached:
// one whoami per session per TTL) and without it (nocache: a whoami per request, as Ory's
// middleware snippet does). conns is how many TCP connections the verifier opened to Ory since
// its app started (the forwarder's count, over every run of the cell). Compare the cases with
//
//	go tool benchstat -table .config,.name -col /case bench.txt
func BenchmarkLoopback(b *testing.B) {
	bd := kratosBed(b)
	for _, a := range conformance.Adapters {
		cached := serveApp(b, a, bd.p.PublicURL, core.CacheConfig{})
		nocache := serveApp(b, a, bd.p.PublicURL, core.CacheConfig{Disabled: true})
		b.Run("adapter="+a.Name+"/case=bare", func(b *testing.B) {
			load(b, cached.url+"/public", bd.cookies, nil) // no guard, no whoami to count
		})
		for _, c := range []struct {
			name string
			app  appServer
		}{{"cached", cached}, {"nocache", nocache}} {
			app := c.app
			calls := &whoamiCount{count: func() int64 { return bd.whoamiCalls(b) }}
			b.Run("adapter="+a.Name+"/case="+c.name, func(b *testing.B) {
				load(b, app.url+"/aal2", bd.cookies, calls)
				b.ReportMetric(float64(app.conns.Load()), "conns")
			})
		}
	}
}
