package core_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// BenchmarkTokenCheck compares, on one verifier in JWT mode, a cached JWT with a cached
// session token and a cached browser cookie (the target: the JWT within 1.2× of a cached
// session, with at most 2 allocations more), and shows what the cache saves: a JWT verified
// in full (ES256) on every request. A cached check hashes its credential: a JWT of the
// shipped mapper is about 900 bytes, a session token 39, Kratos's cookie about 450.
// whoami-calls/op must be 0 for the JWT rows.
func BenchmarkTokenCheck(b *testing.B) {
	srv := orymfatest.NewServer(b)
	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
	jwt := srv.Tokenize(token)
	c := srv.Cookie(token)
	cookie := c.Name + "=" + c.Value
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	newGuard := func(cache core.CacheConfig) *core.Guard {
		v := core.MustNew(core.Config{SDKURL: srv.URL, AppURL: "https://app.example", Cache: cache, Tokens: srv.TokenConfig(), Logger: logger})
		return core.MustGuard(core.RequireAAL2, core.WithVerifier(v), core.WithMaxAge(time.Hour))
	}
	cached := newGuard(core.CacheConfig{TTL: time.Hour}) // longer than the run: every check hits
	uncached := newGuard(core.CacheConfig{Disabled: true})
	for _, tc := range []struct {
		name string
		g    *core.Guard
		r    core.Request
	}{
		{"cached/session-token", cached, core.Request{SessionToken: token}},
		{"cached/cookie", cached, core.Request{Cookie: cookie}},
		{"cached/jwt", cached, core.Request{Authorization: "Bearer " + jwt}},
		{"verified/jwt", uncached, core.Request{Authorization: "Bearer " + jwt}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := tc.r
			if d := tc.g.Check(context.Background(), &r); !d.Allowed() { // the warm-up
				b.Fatalf("warm-up: %v", d.Err)
			}
			srv.ResetCalls()
			b.ReportAllocs()
			for b.Loop() {
				r := tc.r
				if d := tc.g.Check(context.Background(), &r); !d.Allowed() {
					b.Fatal(d.Err)
				}
			}
			b.ReportMetric(float64(srv.Calls())/float64(b.N), "whoami-calls/op")
		})
	}
}
