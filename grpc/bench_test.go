package orymfa_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/grpc"
	"github.com/orymfa/orymfa/orymfatest"
)

// benchSessions is how many distinct aal2 sessions the benchmarks cycle through, so a cached
// call finds its session among many, as on a server with many users.
const benchSessions = 1000

const benchMethod = "/bank.v1.Bank/Transfer"

// benchContexts returns one incoming call context per session of srv, with the metadata a
// grpc-go client sends: a session token (as x-session-token) or a browser's cookies forwarded
// by grpc-gateway (Kratos-sized Ory cookie among the app's own).
func benchContexts(b *testing.B, srv *orymfatest.Server, cred string) []context.Context {
	b.Helper()
	ctxs := make([]context.Context, benchSessions)
	for i := range ctxs {
		token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
		md := metadata.Pairs(
			":authority", "bank.example:443",
			"content-type", "application/grpc",
			"user-agent", "grpc-go/1.85.0",
			"grpc-accept-encoding", "gzip",
		)
		switch cred {
		case "cookie":
			c := srv.Cookie(token)
			md.Set("grpcgateway-cookie", "_ga=GA1.1.2094823482.1732451234; theme=dark; "+c.Name+"="+c.Value+"; lang=en-GB")
			md.Set("x-forwarded-for", "203.0.113.7")
		case "token":
			md.Set("x-session-token", token)
		}
		ctxs[i] = metadata.NewIncomingContext(context.Background(), md)
	}
	return ctxs
}

func handler(ctx context.Context, req any) (any, error) { return req, nil }

func first(v []string) string {
	if len(v) > 0 {
		return v[0]
	}
	return ""
}

// fakeStream is a grpc.ServerStream that only has a context.
type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *fakeStream) Context() context.Context { return s.ctx }

func streamHandler(srv any, ss grpc.ServerStream) error {
	if ss.Context() == nil {
		return io.EOF
	}
	return nil
}

// BenchmarkInterceptor calls a unary and a streaming method in process for many distinct aal2
// sessions, by token and by grpc-gateway cookie, in two cases of one run: bare (the handler
// alone) and cached (the interceptor with RequireAAL2 for the method, every session in the
// verifier's cache: no call to Ory), with the core's Check alone for reference (case=core).
// The sub-benchmarks are named for benchstat:
//
//	go test -run '^$' -bench Interceptor -benchmem -count 6 . | tee new.txt
//	go tool -modfile=$(git rev-parse --show-toplevel)/benchmarks/go.mod benchstat -col /case new.txt
func BenchmarkInterceptor(b *testing.B) {
	srv := orymfatest.NewServer(b)
	v := orymfa.MustNew(orymfa.Config{SDKURL: srv.URL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// Longer than a run of every case: the default 10 s would run out midway, and the
		// cached case would then time whoami calls.
		Cache: orymfa.CacheConfig{TTL: time.Hour}})
	rules := []orymfa.Rule{orymfa.ForMethods(orymfa.RequireAAL2(orymfa.WithVerifier(v)), benchMethod)}
	unary := orymfa.UnaryServerInterceptor(rules...)
	stream := orymfa.StreamServerInterceptor(rules...)
	uinfo := &grpc.UnaryServerInfo{FullMethod: benchMethod}
	sinfo := &grpc.StreamServerInfo{FullMethod: benchMethod, IsServerStream: true}
	for _, cred := range []string{"cookie", "token"} {
		ctxs := benchContexts(b, srv, cred)
		for _, ctx := range ctxs { // fill the cache
			if _, err := unary(ctx, "req", uinfo, handler); err != nil {
				b.Fatal(err)
			}
		}
		before := srv.Calls()
		// The core's own cost, for reference: the guard's Check on the same credentials,
		// without the interceptor (case=cached minus case=core is what this package adds).
		guard := core.MustGuard(core.RequireAAL2, core.WithVerifier(v), core.WithMode(core.ModeAPI))
		reqs := make([]core.Request, len(ctxs))
		for i, ctx := range ctxs {
			md, _ := metadata.FromIncomingContext(ctx)
			reqs[i] = core.Request{SessionToken: first(md["x-session-token"]), Cookie: first(md["grpcgateway-cookie"])}
		}
		b.Run("rpc=unary/cred="+cred+"/case=core", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req := reqs[i%len(reqs)]
				if d := guard.Check(context.Background(), &req); !d.Allowed() {
					b.Fatal(d.Outcome)
				}
				i++
			}
		})
		b.Run("rpc=unary/cred="+cred+"/case=bare", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := handler(ctxs[i%len(ctxs)], "req"); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("rpc=unary/cred="+cred+"/case=cached", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := unary(ctxs[i%len(ctxs)], "req", uinfo, handler); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		streams := make([]*fakeStream, len(ctxs))
		for i, ctx := range ctxs {
			streams[i] = &fakeStream{ctx: ctx}
		}
		b.Run("rpc=stream/cred="+cred+"/case=bare", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := streamHandler(nil, streams[i%len(streams)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("rpc=stream/cred="+cred+"/case=cached", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := stream(nil, streams[i%len(streams)], sinfo, streamHandler); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		// The timed calls never ask Ory.
		if n := srv.Calls() - before; n != 0 {
			b.Fatalf("%d whoami calls on the cached path", n)
		}
	}
}
