package orymfa

import (
	"context"

	ory "github.com/ory/client-go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/orymfa/orymfa/core"
)

// UnaryServerInterceptor checks every unary call against the rules that match its method, in
// order, before the handler runs; the handler's context carries the session. A call no rule
// matches is public. It panics at setup on a zero Rule.
func UnaryServerInterceptor(rs ...Rule) grpc.UnaryServerInterceptor {
	chain := newRules(rs)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, d := chain.check(ctx, info.FullMethod)
		if d != nil {
			if ch := challenge(d); ch != "" {
				// A real header where the transport has one (grpc-go sends it with the status).
				_ = grpc.SetHeader(ctx, metadata.Pairs("www-authenticate", ch))
			}
			return nil, DecisionStatus(d).Err()
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor checks every streaming call against the rules that match its method
// before the handler runs; the stream's context carries the session. A call no rule matches is
// public. It panics at setup on a zero Rule.
func StreamServerInterceptor(rs ...Rule) grpc.StreamServerInterceptor {
	chain := newRules(rs)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		parent := ss.Context()
		ctx, d := chain.check(parent, info.FullMethod)
		if d != nil {
			if ch := challenge(d); ch != "" {
				_ = ss.SetHeader(metadata.Pairs("www-authenticate", ch))
			}
			return DecisionStatus(d).Err()
		}
		if ctx != parent {
			ss = &sessionStream{ServerStream: ss, ctx: ctx}
		}
		return handler(srv, ss)
	}
}

// sessionStream is a server stream whose context carries the verified session.
type sessionStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the stream's context with the session.
func (s *sessionStream) Context() context.Context { return s.ctx }

// check applies every matching rule in order. It returns the context for the handler, or the
// denial of the first rule that refuses. The credentials are read once, and a later rule of
// the same verifier reuses the session an earlier one put in the context: one whoami at most.
func (rs rules) check(ctx context.Context, fullMethod string) (context.Context, *core.Decision) {
	var (
		req  core.Request
		read bool
	)
	for i := range rs {
		r := &rs[i]
		if !r.matches(fullMethod) {
			continue
		}
		if !read {
			req, read = requestFromMetadata(ctx), true
		}
		d := r.guard.Check(ctx, &req)
		if !d.Allowed() {
			denial := d // a copy, so d itself stays on the stack on the allowed path
			return ctx, &denial
		}
		if !d.FromContext {
			ctx = d.Context(ctx)
		}
	}
	return ctx, nil
}

// requestFromMetadata collects the credentials from the incoming metadata. A denial needs no
// more facts: it is always an API answer, and its redirectBrowserTo carries no return_to (a
// gRPC method is no page to come back to; the client adds its own).
func requestFromMetadata(ctx context.Context) core.Request {
	req := core.Request{
		SessionToken:  first(metadata.ValueFromIncomingContext(ctx, "x-session-token")),
		Authorization: first(metadata.ValueFromIncomingContext(ctx, "authorization")),
	}
	cookies := metadata.ValueFromIncomingContext(ctx, "cookie")
	if gw := metadata.ValueFromIncomingContext(ctx, "grpcgateway-cookie"); len(cookies) == 0 {
		cookies = gw // both are copies already: no append (and allocation) when one is empty
	} else {
		cookies = append(cookies, gw...)
	}
	if len(cookies) > 0 {
		req.Cookie, req.MoreCookies = cookies[0], cookies[1:]
	}
	return req
}

func first(v []string) string {
	if len(v) > 0 {
		return v[0]
	}
	return ""
}

// SessionFromContext returns the session verified for this call (or one put in the context
// with core.ContextWithSession, for handler unit tests).
func SessionFromContext(ctx context.Context) (*ory.Session, bool) {
	return core.SessionFromContext(ctx)
}
