package rpcconformance

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/grpc"
)

// grpcRules builds the table's rules with the grpc module.
func grpcRules(app App) []orymfa.Rule {
	var rules []orymfa.Rule
	for _, spec := range app.Rules {
		opts := []orymfa.Option{orymfa.WithVerifier(spec.Verifier)}
		if spec.MaxAge > 0 {
			opts = append(opts, orymfa.WithMaxAge(spec.MaxAge))
		}
		r := orymfa.RequireSession(opts...)
		if spec.Require == core.RequireAAL2 {
			r = orymfa.RequireAAL2(opts...)
		}
		rules = append(rules, orymfa.ForMethods(r, spec.Methods...))
	}
	return rules
}

// ServiceDescs are the test service and Admin as grpc-go descriptions, written by hand (what
// protoc-gen-go-grpc would generate), each method answering with Respond.
func ServiceDescs(app App) []*grpc.ServiceDesc {
	unary := func(service, name string) grpc.MethodDesc {
		return grpc.MethodDesc{MethodName: name, Handler: func(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, _ any) (any, error) {
				s, _ := orymfa.SessionFromContext(ctx)
				return Respond(ctx, app, s), nil
			}
			if icpt == nil {
				return h(ctx, in)
			}
			return icpt(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/" + service + "/" + name}, h)
		}}
	}
	test := &grpc.ServiceDesc{ServiceName: Service, HandlerType: (*any)(nil)}
	for _, m := range UnaryMethods {
		test.Methods = append(test.Methods, unary(Service, m))
	}
	test.Streams = []grpc.StreamDesc{{StreamName: "Watch", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
		if err := ss.RecvMsg(new(wrapperspb.StringValue)); err != nil {
			return err
		}
		s, _ := orymfa.SessionFromContext(ss.Context())
		for range 2 {
			if err := ss.SendMsg(Respond(ss.Context(), app, s)); err != nil {
				return err
			}
		}
		return nil
	}}}
	admin := &grpc.ServiceDesc{ServiceName: Admin, HandlerType: (*any)(nil), Methods: []grpc.MethodDesc{unary(Admin, "Ping")}}
	return []*grpc.ServiceDesc{test, admin}
}

// ServeGRPC serves the app with the grpc module's interceptors on a grpc-go server listening
// on 127.0.0.1:0, and returns its address.
func ServeGRPC(tb testing.TB, app App) string {
	rules := grpcRules(app)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(orymfa.UnaryServerInterceptor(rules...)),
		grpc.ChainStreamInterceptor(orymfa.StreamServerInterceptor(rules...)),
	)
	for _, d := range ServiceDescs(app) {
		srv.RegisterService(d, nil)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// grpcClient is a grpc-go client.
type grpcClient struct {
	tb   testing.TB
	conn *grpc.ClientConn
}

// NewGRPCClient dials addr (a grpc-go or h2c server) with a grpc-go client closed with
// tb.Cleanup.
func NewGRPCClient(tb testing.TB, addr string) Client {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return &grpcClient{tb: tb, conn: conn}
}

func outgoing(ctx context.Context, c Call) context.Context {
	var kv []string
	if c.Token != "" {
		kv = append(kv, "x-session-token", c.Token)
	}
	if c.Bearer != "" {
		kv = append(kv, "authorization", "Bearer "+c.Bearer)
	}
	if c.Cookie != "" {
		kv = append(kv, "cookie", c.Cookie)
	}
	for _, v := range c.Cookies {
		kv = append(kv, "cookie", v)
	}
	if c.GatewayCookie != "" {
		kv = append(kv, "grpcgateway-cookie", c.GatewayCookie)
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}

func (g *grpcClient) Unary(ctx context.Context, method string, c Call) Result {
	var (
		out    wrapperspb.StringValue
		header metadata.MD
	)
	err := g.conn.Invoke(outgoing(ctx, c), method, wrapperspb.String("hi"), &out, grpc.Header(&header))
	return g.result(err, header, []string{out.GetValue()})
}

func (g *grpcClient) Stream(ctx context.Context, c Call) Result {
	ctx, cancel := context.WithCancel(outgoing(ctx, c))
	defer cancel()
	s, err := g.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, Watch)
	if err != nil {
		return g.result(err, nil, nil)
	}
	if err := s.SendMsg(wrapperspb.String("hi")); err != nil {
		g.tb.Fatal(err)
	}
	if err := s.CloseSend(); err != nil {
		g.tb.Fatal(err)
	}
	var values []string
	for {
		var out wrapperspb.StringValue
		err := s.RecvMsg(&out)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			header, _ := s.Header()
			return g.result(err, header, nil)
		}
		values = append(values, out.GetValue())
	}
	return g.result(nil, nil, values)
}

func (g *grpcClient) result(err error, header metadata.MD, values []string) Result {
	var r Result
	if err != nil {
		st, ok := status.FromError(err)
		if !ok {
			g.tb.Fatalf("not a status error: %v", err)
		}
		r.Code, r.Message = uint32(st.Code()), st.Message()
		var ds []proto.Message
		for _, d := range st.Details() {
			if m, ok := d.(proto.Message); ok {
				ds = append(ds, m)
			}
		}
		r.details(ds)
		if v := header.Get("www-authenticate"); len(v) > 0 {
			r.Challenge = v[0]
		}
		return r
	}
	for _, v := range values {
		r.reply(g.tb, v)
	}
	return r
}
