package rpcconformance

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	orymfa "github.com/orymfa/orymfa/connect"
	"github.com/orymfa/orymfa/core"
)

// connectRules builds the table's rules with the connect module.
func connectRules(app App) []orymfa.Rule {
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
		rules = append(rules, orymfa.ForProcedures(r, spec.Methods...))
	}
	return rules
}

// ConnectHandler is the test service and Admin as Connect handlers with the connect module's
// interceptor, on one mux.
func ConnectHandler(app App) http.Handler {
	guard := connect.WithInterceptors(orymfa.Interceptor(connectRules(app)...))
	unary := func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
		s, _ := orymfa.SessionFromContext(ctx)
		return connect.NewResponse(Respond(ctx, app, s)), nil
	}
	mux := http.NewServeMux()
	for _, m := range UnaryMethods {
		p := "/" + Service + "/" + m
		mux.Handle(p, connect.NewUnaryHandler(p, unary, guard))
	}
	mux.Handle(AdminPing, connect.NewUnaryHandler(AdminPing, unary, guard))
	mux.Handle(Watch, connect.NewServerStreamHandler(Watch, func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue], st *connect.ServerStream[wrapperspb.StringValue]) error {
		s, _ := orymfa.SessionFromContext(ctx)
		for range 2 {
			if err := st.Send(Respond(ctx, app, s)); err != nil {
				return err
			}
		}
		return nil
	}, guard))
	return mux
}

// ServeConnect serves the app's Connect handler over HTTP/1.1 and HTTP/2 without TLS (h2c) on
// 127.0.0.1:0, and returns its base URL.
func ServeConnect(tb testing.TB, app App) string {
	srv := httptest.NewUnstartedServer(ConnectHandler(app))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv.URL
}

// H2CClient is an HTTP client that speaks HTTP/2 without TLS, as the gRPC protocols need.
func H2CClient() *http.Client {
	t := &http.Transport{Protocols: new(http.Protocols)}
	t.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: t}
}

// connectClient is a Connect client in one protocol.
type connectClient struct {
	tb     testing.TB
	hc     *http.Client
	unary  map[string]*connect.Client[wrapperspb.StringValue, wrapperspb.StringValue]
	stream *connect.Client[wrapperspb.StringValue, wrapperspb.StringValue]
}

// NewConnectClient is a Connect client of the served app in the protocol opts choose (none:
// the Connect protocol; connect.WithGRPC(); connect.WithGRPCWeb()), over h2c.
func NewConnectClient(tb testing.TB, base string, opts ...connect.ClientOption) Client {
	c := &connectClient{tb: tb, hc: H2CClient(), unary: map[string]*connect.Client[wrapperspb.StringValue, wrapperspb.StringValue]{}}
	tb.Cleanup(c.hc.CloseIdleConnections)
	for _, m := range append([]string{AdminPing}, UnaryMethods...) {
		if m != AdminPing {
			m = "/" + Service + "/" + m
		}
		c.unary[m] = connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](c.hc, base+m, opts...)
	}
	c.stream = connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](c.hc, base+Watch, opts...)
	return c
}

func setHeaders(h http.Header, c Call) {
	if c.Token != "" {
		h.Set("X-Session-Token", c.Token)
	}
	if c.Bearer != "" {
		h.Set("Authorization", "Bearer "+c.Bearer)
	}
	if c.Cookie != "" {
		h.Add("Cookie", c.Cookie)
	}
	for _, v := range c.Cookies {
		h.Add("Cookie", v)
	}
	if c.GatewayCookie != "" {
		h.Set("Grpcgateway-Cookie", c.GatewayCookie)
	}
}

func (c *connectClient) Unary(ctx context.Context, method string, call Call) Result {
	client := c.unary[method]
	if client == nil {
		c.tb.Fatalf("no method %s", method)
	}
	req := connect.NewRequest(wrapperspb.String("hi"))
	setHeaders(req.Header(), call)
	resp, err := client.CallUnary(ctx, req)
	if err != nil {
		return c.result(err)
	}
	var r Result
	r.reply(c.tb, resp.Msg.GetValue())
	return r
}

func (c *connectClient) Stream(ctx context.Context, call Call) Result {
	req := connect.NewRequest(wrapperspb.String("hi"))
	setHeaders(req.Header(), call)
	st, err := c.stream.CallServerStream(ctx, req)
	if err != nil {
		return c.result(err)
	}
	defer st.Close()
	var r Result
	for st.Receive() {
		r.reply(c.tb, st.Msg().GetValue())
	}
	if err := st.Err(); err != nil {
		return c.result(err)
	}
	return r
}

func (c *connectClient) result(err error) Result {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		c.tb.Fatalf("not a *connect.Error: %v", err)
	}
	r := Result{Code: uint32(ce.Code()), Message: ce.Message(), Challenge: ce.Meta().Get("WWW-Authenticate")}
	var ds []proto.Message
	for _, d := range ce.Details() {
		m, err := d.Value()
		if err != nil {
			c.tb.Fatalf("detail %s: %v", d.Type(), err)
		}
		ds = append(ds, m)
	}
	r.details(ds)
	return r
}

// Transports is the registry of RPC transports the table runs through.
var Transports = []Transport{
	{Name: "grpc", HeaderChallenge: true, Serve: func(tb testing.TB, app App) Client {
		return NewGRPCClient(tb, ServeGRPC(tb, app))
	}},
	{Name: "connect", HeaderChallenge: true, Serve: func(tb testing.TB, app App) Client {
		return NewConnectClient(tb, ServeConnect(tb, app))
	}},
	{Name: "connect-grpc", Serve: func(tb testing.TB, app App) Client {
		return NewConnectClient(tb, ServeConnect(tb, app), connect.WithGRPC())
	}},
	{Name: "connect-grpcweb", HeaderChallenge: true, Serve: func(tb testing.TB, app App) Client {
		return NewConnectClient(tb, ServeConnect(tb, app), connect.WithGRPCWeb())
	}},
	{Name: "connect-grpcgo", Serve: func(tb testing.TB, app App) Client {
		base := ServeConnect(tb, app)
		return NewGRPCClient(tb, base[len("http://"):])
	}},
}
