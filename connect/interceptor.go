package orymfa

import (
	"context"
	"net/http"

	"connectrpc.com/connect"
	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// Interceptor checks every call a handler serves against the rules that match its procedure,
// in order, before the handler runs, unary and streaming alike; the handler's context carries
// the session. A call no rule matches is public. On the client side it does nothing. It
// panics at setup on a zero Rule.
func Interceptor(rs ...Rule) connect.Interceptor {
	return &interceptor{rules: newRules(rs)}
}

type interceptor struct{ rules rules }

// WrapUnary checks a unary call before the handler runs.
func (i *interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, d := i.rules.check(ctx, req.Spec().Procedure, req.Header())
		if d != nil {
			return nil, DecisionError(d)
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient leaves client streams alone.
func (i *interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler checks a streaming call before the handler runs.
func (i *interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, d := i.rules.check(ctx, conn.Spec().Procedure, conn.RequestHeader())
		if d != nil {
			return DecisionError(d)
		}
		return next(ctx, conn)
	}
}

// check applies every matching rule in order. It returns the context for the handler, or the
// denial of the first rule that refuses. The credentials are read once, and a later rule of
// the same verifier reuses the session an earlier one put in the context: one whoami at most.
func (rs rules) check(ctx context.Context, procedure string, h http.Header) (context.Context, *core.Decision) {
	var (
		req  core.Request
		read bool
	)
	for i := range rs {
		r := &rs[i]
		if !r.matches(procedure) {
			continue
		}
		if !read {
			req, read = requestFromHeader(h), true
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

// requestFromHeader collects the credentials from the request headers. A denial needs no more
// facts: it is always an API answer, and its redirectBrowserTo carries no return_to (a
// procedure is no page to come back to; the client adds its own).
func requestFromHeader(h http.Header) core.Request {
	req := core.Request{
		SessionToken:  first(h["X-Session-Token"]),
		Authorization: first(h["Authorization"]),
	}
	cookies := h["Cookie"]
	if gw := h["Grpcgateway-Cookie"]; len(gw) > 0 {
		cookies = append(cookies[:len(cookies):len(cookies)], gw...) // never into the header's array
	}
	if len(cookies) > 0 {
		req.Cookie, req.MoreCookies = cookies[0], cookies[1:]
	}
	return req
}

// first reads a header by its canonical key: http.Header.Get would canonicalise the key on
// every call.
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
