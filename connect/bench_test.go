package orymfa_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	orymfa "github.com/orymfa/orymfa/connect"
	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// benchSessions is how many distinct aal2 sessions the benchmarks cycle through, so a cached
// call finds its session among many, as on a server with many users.
const benchSessions = 1000

// benchHeaders returns one request header per session of srv, as clients send them: a
// browser's (connect-web's) cookies with a Kratos-sized Ory cookie among the app's own, or an
// API client's session token.
func benchHeaders(b *testing.B, srv *orymfatest.Server, cred string) []http.Header {
	b.Helper()
	hs := make([]http.Header, benchSessions)
	for i := range hs {
		token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
		h := http.Header{
			"Content-Type":             {"application/proto"},
			"Connect-Protocol-Version": {"1"},
			"User-Agent":               {"connect-es/2.0.0"},
			"Accept-Encoding":          {"gzip"},
		}
		switch cred {
		case "cookie":
			c := srv.Cookie(token)
			h.Set("Cookie", "_ga=GA1.1.2094823482.1732451234; theme=dark; "+c.Name+"="+c.Value+"; lang=en-GB")
		case "token":
			h.Set("X-Session-Token", token)
		}
		hs[i] = h
	}
	return hs
}

// fakeRequest is a server-side connect.AnyRequest with headers only.
type fakeRequest struct {
	connect.AnyRequest
	h http.Header
}

func (r *fakeRequest) Spec() connect.Spec  { return connect.Spec{Procedure: "/bank.v1.Bank/Transfer"} }
func (r *fakeRequest) Header() http.Header { return r.h }
func (r *fakeRequest) Peer() connect.Peer  { return connect.Peer{} }
func (r *fakeRequest) Any() any            { return nil }
func (r *fakeRequest) HTTPMethod() string  { return http.MethodPost }

// fakeConn is a server-side streaming connection with headers only.
type fakeConn struct {
	connect.StreamingHandlerConn
	h http.Header
}

func (c *fakeConn) Spec() connect.Spec {
	return connect.Spec{Procedure: "/bank.v1.Bank/Watch", StreamType: connect.StreamTypeServer}
}
func (c *fakeConn) RequestHeader() http.Header { return c.h }

var response connect.AnyResponse = connect.NewResponse(&struct{}{})

func unaryHandler(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
	return response, nil
}

func streamHandler(ctx context.Context, conn connect.StreamingHandlerConn) error { return nil }

// BenchmarkInterceptor calls a unary and a streaming procedure in process for many distinct
// aal2 sessions, by cookie and by token, in two cases of one run: bare (the handler alone)
// and cached (the interceptor with RequireAAL2 for the procedures, every session in the
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
	i := orymfa.Interceptor(orymfa.ForProcedures(orymfa.RequireAAL2(orymfa.WithVerifier(v)), "/bank.v1.Bank/"))
	unary := i.WrapUnary(unaryHandler)
	stream := i.WrapStreamingHandler(streamHandler)
	for _, cred := range []string{"cookie", "token"} {
		hs := benchHeaders(b, srv, cred)
		reqs := make([]connect.AnyRequest, len(hs))
		conns := make([]connect.StreamingHandlerConn, len(hs))
		for n, h := range hs {
			reqs[n], conns[n] = &fakeRequest{h: h}, &fakeConn{h: h}
			if _, err := unary(context.Background(), reqs[n]); err != nil { // fill the cache
				b.Fatal(err)
			}
		}
		before := srv.Calls()
		run := func(name string, call func(n int) error) {
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					if err := call(n % len(hs)); err != nil {
						b.Fatal(err)
					}
					n++
				}
			})
		}
		ctx := context.Background()
		// The core's own cost, for reference: the guard's Check on the same credentials,
		// without the interceptor (case=cached minus case=core is what this package adds).
		guard := core.MustGuard(core.RequireAAL2, core.WithVerifier(v), core.WithMode(core.ModeAPI))
		run("rpc=unary/cred="+cred+"/case=core", func(n int) error {
			req := core.Request{SessionToken: hs[n].Get("X-Session-Token"), Cookie: hs[n].Get("Cookie")}
			if d := guard.Check(ctx, &req); !d.Allowed() {
				return d.Err
			}
			return nil
		})
		run("rpc=unary/cred="+cred+"/case=bare", func(n int) error { _, err := unaryHandler(ctx, reqs[n]); return err })
		run("rpc=unary/cred="+cred+"/case=cached", func(n int) error { _, err := unary(ctx, reqs[n]); return err })
		run("rpc=stream/cred="+cred+"/case=bare", func(n int) error { return streamHandler(ctx, conns[n]) })
		run("rpc=stream/cred="+cred+"/case=cached", func(n int) error { return stream(ctx, conns[n]) })
		// The timed calls never ask Ory.
		if n := srv.Calls() - before; n != 0 {
			b.Fatalf("%d whoami calls on the cached path", n)
		}
	}
}
